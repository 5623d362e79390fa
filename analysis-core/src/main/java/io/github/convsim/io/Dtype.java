package io.github.convsim.io;

import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Element types of the safetensors format and of PyTorch storages, with exact conversion to double.
 *
 * <p>Every finite value of every floating type below is exactly representable as a double, so {@link #read}
 * never rounds. Integer values beyond 2^53 are refused by {@link #read} rather than rounded.
 */
public enum Dtype {
    F64(8), F32(4), F16(2), BF16(2), F8_E4M3(1), F8_E5M2(1), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int size;

    Dtype(int size) {
        this.size = size;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16 || this == F8_E4M3 || this == F8_E5M2;
    }

    /** The dtype named exactly as in a safetensors header ("F32", "BF16", ...), if known. */
    public static Optional<Dtype> fromSafetensorsName(String name) {
        for (Dtype d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /**
     * Reads element {@code index} of a little-endian buffer of this dtype, exactly.
     *
     * @throws ArithmeticException for an integer whose magnitude exceeds 2^53 (not exactly a double)
     */
    public double read(ByteBuffer le, int index) {
        int p = index * size;
        switch (this) {
            case F64: return le.getDouble(p);
            case F32: return le.getFloat(p);
            case F16: return halfToDouble(le.getShort(p));
            case BF16: return Float.intBitsToFloat((le.getShort(p) & 0xffff) << 16);
            case F8_E4M3: return e4m3ToDouble(le.get(p));
            case F8_E5M2: return halfToDouble((short) ((le.get(p) & 0xff) << 8));
            case I64: return exactLong(le.getLong(p));
            case I32: return le.getInt(p);
            case I16: return le.getShort(p);
            case I8: return le.get(p);
            case U8: return le.get(p) & 0xff;
            case BOOL: return le.get(p) != 0 ? 1.0 : 0.0;
            default: throw new AssertionError(this);
        }
    }

    /** Reads {@code count} elements from the start of a little-endian buffer into {@code dst[off...]}, exactly. */
    public void readInto(ByteBuffer le, int count, double[] dst, int off) {
        switch (this) {
            case F32 -> {
                float[] tmp = new float[Math.min(count, 1 << 16)];
                java.nio.FloatBuffer fb = le.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).position(0)
                        .asFloatBuffer();
                for (int done = 0; done < count; done += tmp.length) {
                    int n = Math.min(tmp.length, count - done);
                    fb.get(tmp, 0, n);
                    for (int i = 0; i < n; i++) {
                        dst[off + done + i] = tmp[i];
                    }
                }
            }
            case F64 -> le.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).position(0).asDoubleBuffer()
                    .get(dst, off, count);
            case BF16, F16 -> {
                // one bulk copy of the raw bits per chunk, then a shift (bf16 is the top half of a float) or a table
                // lookup (every binary16 value, from halfToDouble): measured 2.5x faster than read() per element on a
                // 4096 x 4096 bf16 tensor under the launcher's C1 compiler
                short[] tmp = new short[Math.min(count, 1 << 16)];
                java.nio.ShortBuffer sb = le.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).position(0)
                        .asShortBuffer();
                double[] half = this == F16 ? HalfValues.ALL : null;
                for (int done = 0; done < count; done += tmp.length) {
                    int n = Math.min(tmp.length, count - done);
                    sb.get(tmp, 0, n);
                    if (half == null) {
                        bf16ToDouble(tmp, n, dst, off + done);
                    } else {
                        lookUp(half, tmp, n, dst, off + done);
                    }
                }
            }
            default -> {
                for (int i = 0; i < count; i++) {
                    dst[off + i] = read(le, i);
                }
            }
        }
    }

    private static double exactLong(long v) {
        if (v > (1L << 53) || v < -(1L << 53)) {
            throw new ArithmeticException("integer " + v + " is not exactly representable as a double");
        }
        return v;
    }

    /*
     * The loops below are methods of their own, called once per chunk: the JIT compiles a method after a few hundred
     * calls, whereas a loop inside readInto, called a few times per tensor, was measured to run interpreted (1 s for a
     * 4096 x 4096 tensor instead of 0.05 s).
     */
    private static void bf16ToDouble(short[] bits, int n, double[] dst, int at) {
        for (int i = 0; i < n; i++) {
            dst[at + i] = Float.intBitsToFloat((bits[i] & 0xffff) << 16);
        }
    }

    private static void lookUp(double[] values, short[] bits, int n, double[] dst, int at) {
        for (int i = 0; i < n; i++) {
            dst[at + i] = values[bits[i] & 0xffff];
        }
    }

    /** Every binary16 bit pattern's value (512 KiB), made on first use. */
    private static final class HalfValues {
        static final double[] ALL = new double[1 << 16];

        static {
            for (int i = 0; i < ALL.length; i++) {
                ALL[i] = halfToDouble((short) i);
            }
        }
    }

    /** IEEE 754 binary16 to double, subnormals, infinities and NaN included. */
    static double halfToDouble(short bits) {
        int h = bits & 0xffff;
        int sign = (h >>> 15) != 0 ? -1 : 1;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return mant == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (exp == 0) {
            return sign * Math.scalb((double) mant, -24);
        }
        return sign * Math.scalb((double) (mant | 0x400), exp - 25);
    }

    /**
     * OCP FP8 E4M3 ("fn" variant used by PyTorch's float8_e4m3fn): bias 7, no infinities, NaN only at
     * S.1111.111, so the largest finite value is 448.
     */
    static double e4m3ToDouble(byte b) {
        int v = b & 0xff;
        int sign = (v >>> 7) != 0 ? -1 : 1;
        int exp = (v >>> 3) & 0xf;
        int mant = v & 0x7;
        if (exp == 0xf && mant == 0x7) {
            return Double.NaN;
        }
        if (exp == 0) {
            return sign * Math.scalb((double) mant, -9);
        }
        return sign * Math.scalb((double) (mant | 0x8), exp - 10);
    }
}
