package io.github.convsim.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a safetensors file from tensors given as row-major doubles, or produced chunk by chunk while the file is
 * written ({@link Values}, so a multi-gigabyte shard never sits in memory), stored as F64, F32 or BF16 (BF16 rounded
 * to nearest even). The file is written next to its destination and moved into place, so a reader never sees half a
 * file.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Produces a tensor's values in row-major order, {@code count} at a time, each call continuing the last. */
    @FunctionalInterface
    public interface Values {
        void fill(float[] chunk, int count);
    }

    private record Pending(Dtype dtype, long[] shape, long elements, double[] data, Values values) {}

    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor; {@code data} is row-major with as many elements as {@code shape} describes. */
    public SafetensorsWriter add(String name, Dtype dtype, long[] shape, double[] data) {
        long n = elements(dtype, shape);
        if (n != data.length) {
            throw new IllegalArgumentException(name + ": shape holds " + n + " elements, data " + data.length);
        }
        return put(name, new Pending(dtype, shape.clone(), n, data, null));
    }

    /**
     * Adds {@code source}'s tensor {@code name} under the same name and shape: F64 and BF16 kept as they are, every
     * other type (F16, F32) written as F32, which holds its values exactly.
     */
    public SafetensorsWriter addCopy(WeightSource source, String name) throws IOException {
        TensorInfo i = source.info(name);
        Dtype keep = i.dtype() == Dtype.F64 || i.dtype() == Dtype.BF16 ? i.dtype() : Dtype.F32;
        return add(name, keep, i.shape(), source.readDoubles(name));
    }

    /** Adds a tensor whose values {@code values} produces, in row-major order, when the file is written. */
    public SafetensorsWriter add(String name, Dtype dtype, long[] shape, Values values) {
        return put(name, new Pending(dtype, shape.clone(), elements(dtype, shape), null, values));
    }

    /** Bytes the data of a tensor of this type and shape takes. */
    public static long dataBytes(Dtype dtype, long[] shape) {
        return elements(dtype, shape) * dtype.size();
    }

    private static long elements(Dtype dtype, long[] shape) {
        if (dtype != Dtype.F64 && dtype != Dtype.F32 && dtype != Dtype.BF16) {
            throw new IllegalArgumentException("writing " + dtype + " is not supported");
        }
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private SafetensorsWriter put(String name, Pending p) {
        if (tensors.putIfAbsent(name, p) != null) {
            throw new IllegalArgumentException("duplicate tensor " + name);
        }
        return this;
    }

    public void write(Path file) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Pending> e : tensors.entrySet()) {
            Pending p = e.getValue();
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", p.dtype.name());
            ArrayNode shape = t.putArray("shape");
            for (long d : p.shape) {
                shape.add(d);
            }
            long len = p.elements * p.dtype.size();
            t.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // the reference writer pads the header to 8 bytes with spaces
        AtomicFile.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            for (Pending p : tensors.values()) {
                writeData(out, p);
            }
        });
    }

    private static void writeData(OutputStream out, Pending p) throws IOException {
        int chunk = 1 << 16;
        ByteBuffer buf = ByteBuffer.allocate(chunk * p.dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
        float[] produced = p.values == null ? null : new float[chunk];
        for (long start = 0; start < p.elements; start += chunk) {
            buf.clear();
            int count = (int) Math.min(chunk, p.elements - start);
            if (produced != null) {
                p.values.fill(produced, count);
            }
            for (int i = 0; i < count; i++) {
                double v = produced != null ? produced[i] : p.data[(int) start + i];
                switch (p.dtype) {
                    case F64 -> buf.putDouble(v);
                    case F32 -> buf.putFloat((float) v);
                    case BF16 -> buf.putShort(toBf16((float) v));
                    default -> throw new AssertionError(p.dtype);
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }

    /** Rounds a float to bfloat16, to nearest with ties to even; NaN stays NaN. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

}
