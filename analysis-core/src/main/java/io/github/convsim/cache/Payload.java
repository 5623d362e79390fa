package io.github.convsim.cache;

import io.github.convsim.linalg.Fp32;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A cache entry's payload, little-endian: numbers and arrays (each array after its length) in the order they were
 * put. Reading past the end or a negative length throws {@link IllegalArgumentException}; the entry was verified
 * before, so that means a defect, not a damaged file.
 */
public final class Payload {
    /** The largest payload: one Java array (an fp64 LU of n = 16384 is 2 GiB, just over). */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 64;

    private ByteBuffer buf;

    /** @throws IllegalArgumentException if {@code expectedBytes} exceeds {@link #MAX_BYTES} */
    public Payload(long expectedBytes) {
        if (expectedBytes > MAX_BYTES) {
            throw new IllegalArgumentException("a cache entry cannot exceed 2 GiB, asked for " + expectedBytes + " bytes");
        }
        buf = ByteBuffer.allocate((int) Math.max(64, expectedBytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    public Payload putInt(int v) {
        room(4).putInt(v);
        return this;
    }

    public Payload putDouble(double v) {
        room(8).putDouble(v);
        return this;
    }

    public Payload putBoolean(boolean v) {
        room(1).put((byte) (v ? 1 : 0));
        return this;
    }

    public Payload putString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        room(4 + b.length).putInt(b.length).put(b);
        return this;
    }

    public Payload putDoubles(double[] v) {
        room(4 + 8L * v.length).putInt(v.length);
        buf.asDoubleBuffer().put(v);
        buf.position(buf.position() + v.length * Double.BYTES);
        return this;
    }

    public Payload putFloats(float[] v) {
        room(4 + 4L * v.length).putInt(v.length);
        buf.asFloatBuffer().put(v);
        buf.position(buf.position() + v.length * Float.BYTES);
        return this;
    }

    /**
     * Doubles that hold fp32 values (fp32 LU factors), stored as fp32: exact, half the bytes, read back by
     * {@link #getFloats}. Narrowed a chunk at a time, with no fp32 copy of the whole array.
     */
    public Payload putNarrowed(double[] v) {
        room(4 + 4L * v.length).putInt(v.length);
        java.nio.FloatBuffer out = buf.asFloatBuffer();
        float[] chunk = new float[Math.min(v.length, 1 << 16)];
        for (int from = 0; from < v.length; from += chunk.length) {
            int n = Math.min(chunk.length, v.length - from);
            Fp32.narrow(v, from, chunk, n);
            out.put(chunk, 0, n);
        }
        buf.position(buf.position() + v.length * Float.BYTES);
        return this;
    }

    public Payload putInts(int[] v) {
        room(4 + 4L * v.length).putInt(v.length);
        buf.asIntBuffer().put(v);
        buf.position(buf.position() + v.length * Integer.BYTES);
        return this;
    }

    /** Maps (phi samples: draw, then row), each row as {@link #putDoubles}; read back by {@link #getMaps}. */
    public Payload putMaps(double[][][] maps) {
        putInt(maps.length);
        for (double[][] map : maps) {
            putInt(map.length);
            for (double[] row : map) {
                putDoubles(row);
            }
        }
        return this;
    }

    /** The bytes put so far, ready for {@link BaseCache#write}. */
    public ByteBuffer bytes() {
        return buf.duplicate().flip();
    }

    private ByteBuffer room(long bytes) {
        if (buf.remaining() < bytes) {
            long want = Math.max(buf.capacity() * 2L, buf.position() + bytes);
            if (want > MAX_BYTES) {
                throw new IllegalArgumentException("a cache entry cannot exceed 2 GiB");
            }
            ByteBuffer bigger = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(buf.flip());
            buf = bigger;
        }
        return buf;
    }

    public static int getInt(ByteBuffer b) {
        return read(() -> b.getInt());
    }

    public static double getDouble(ByteBuffer b) {
        return read(() -> b.getDouble());
    }

    public static boolean getBoolean(ByteBuffer b) {
        return read(() -> b.get() != 0);
    }

    public static String getString(ByteBuffer b) {
        byte[] s = new byte[length(b, 1)];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    public static double[] getDoubles(ByteBuffer b) {
        double[] v = new double[length(b, Double.BYTES)];
        b.asDoubleBuffer().get(v);
        b.position(b.position() + v.length * Double.BYTES);
        return v;
    }

    public static double[][][] getMaps(ByteBuffer b) {
        double[][][] maps = new double[length(b, 4)][][];
        for (int d = 0; d < maps.length; d++) {
            maps[d] = new double[length(b, 4)][];
            for (int a = 0; a < maps[d].length; a++) {
                maps[d][a] = getDoubles(b);
            }
        }
        return maps;
    }

    public static float[] getFloats(ByteBuffer b) {
        float[] v = new float[length(b, Float.BYTES)];
        b.asFloatBuffer().get(v);
        b.position(b.position() + v.length * Float.BYTES);
        return v;
    }

    public static int[] getInts(ByteBuffer b) {
        int[] v = new int[length(b, Integer.BYTES)];
        b.asIntBuffer().get(v);
        b.position(b.position() + v.length * Integer.BYTES);
        return v;
    }

    private static int length(ByteBuffer b, int elementBytes) {
        int n = getInt(b);
        if (n < 0 || (long) n * elementBytes > b.remaining()) {
            throw new IllegalArgumentException("cache payload: an array of " + n + " elements with " + b.remaining()
                    + " bytes left");
        }
        return n;
    }

    private interface Read<T> {
        T get();
    }

    private static <T> T read(Read<T> r) {
        try {
            return r.get();
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("cache payload ends early", e);
        }
    }
}
