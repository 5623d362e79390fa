package io.github.convsim.io;

import static io.github.convsim.io.SafetensorsException.Violation.*;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file (https://github.com/huggingface/safetensors), validated strictly on open and read through
 * memory maps, one tensor at a time. Files and tensors past 2 GiB are read in chunks.
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of UTF-8 JSON, then the data buffer. Every rule of the
 * format is enforced on open and reported as a {@link SafetensorsException} with its {@link
 * SafetensorsException.Violation}.
 */
public final class SafetensorsFile implements WeightSource {
    /** The reference implementation's limit on the JSON header. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final long CHUNK_BYTES = 1L << 30;
    /** Rows decoded at once by {@link #readColumnMajor} (128 of 4096): measured fastest from 256 KiB to 16 MiB. */
    private static final long ROW_BLOCK_BYTES = 4096L << 10;
    private static final JsonFactory JSON = new JsonFactory();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    /** The file's size when it was opened and validated: a read past a smaller size means it changed since. */
    private final long sizeWhenOpened;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private record Entry(TensorInfo info, long begin, long end) {}

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, long sizeWhenOpened,
                            Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.sizeWhenOpened = sizeWhenOpened;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens and validates a file; nothing but the header is read. */
    public static SafetensorsFile open(Path path) throws CheckpointException {
        InputFiles.requireRegularFile(path);
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(path, "no such file");
        } catch (IOException e) {
            throw new CheckpointException(path, "cannot open: " + e.getMessage());
        }
        try {
            return parse(path, ch);
        } catch (CheckpointException | RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) throws CheckpointException {
        long size = size(path, ch);
        if (size < 8) {
            throw new SafetensorsException(path, null, FILE_TOO_SHORT,
                    "file is " + size + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lenBuf = readFully(path, ch, 0, 8);
        long headerLen = lenBuf.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
            throw new SafetensorsException(path, null, HEADER_TOO_LARGE,
                    "header length " + Long.toUnsignedString(headerLen) + " exceeds the limit of " + MAX_HEADER_BYTES
                            + " bytes");
        }
        if (8 + headerLen > size) {
            throw new SafetensorsException(path, null, HEADER_BEYOND_FILE,
                    "header length " + headerLen + " runs past the end of the " + size + "-byte file");
        }
        HeapBudget.requireFor(path, headerLen, "header");
        ByteBuffer header = readFully(path, ch, 8, (int) headerLen);
        String json;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(header);
            json = chars.toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(path, null, HEADER_NOT_UTF8, "header is not valid UTF-8");
        }
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> entries = parseHeader(path, json, dataLen, metadata);
        validateLayout(path, entries, dataLen);
        return new SafetensorsFile(path, ch, dataStart, size, Collections.unmodifiableMap(entries),
                Collections.unmodifiableMap(metadata));
    }

    private static Map<String, Entry> parseHeader(Path path, String json, long dataLen, Map<String, String> metadata)
            throws CheckpointException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new SafetensorsException(path, null, HEADER_NOT_JSON_OBJECT, "header is not a JSON object");
            }
            boolean sawMetadata = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.getCurrentName();
                p.nextToken();
                if (name.equals("__metadata__")) {
                    if (sawMetadata) {
                        throw new SafetensorsException(path, null, DUPLICATE_NAME, "'__metadata__' appears twice");
                    }
                    sawMetadata = true;
                    parseMetadata(path, p, metadata);
                    continue;
                }
                if (entries.containsKey(name)) {
                    throw new SafetensorsException(path, name, DUPLICATE_NAME, "name appears twice in the header");
                }
                entries.put(name, parseEntry(path, name, p));
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new SafetensorsException(path, null, HEADER_NOT_JSON_OBJECT,
                        "header has content after its JSON object");
            }
        } catch (SafetensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new SafetensorsException(path, null, HEADER_NOT_JSON_OBJECT,
                    "header is not a valid JSON object: " + firstLine(e.getMessage()));
        }
        return entries;
    }

    private static void parseMetadata(Path path, JsonParser p, Map<String, String> metadata) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsException(path, null, INVALID_METADATA, "'__metadata__' is not an object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.getCurrentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw new SafetensorsException(path, null, INVALID_METADATA,
                        "'__metadata__' value for '" + key + "' is not a string");
            }
            if (metadata.put(key, p.getText()) != null) {
                throw new SafetensorsException(path, null, INVALID_METADATA,
                        "'__metadata__' key '" + key + "' appears twice");
            }
        }
    }

    private static Entry parseEntry(Path path, String name, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY, "entry is not an object");
        }
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.getCurrentName();
            p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (dtypeName != null || p.currentToken() != JsonToken.VALUE_STRING) {
                        throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY,
                                "'dtype' is missing a single string value");
                    }
                    dtypeName = p.getText();
                }
                case "shape" -> {
                    if (shape != null) {
                        throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY, "'shape' appears twice");
                    }
                    shape = readLongArray(path, name, "shape", p);
                }
                case "data_offsets" -> {
                    if (offsets != null) {
                        throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY,
                                "'data_offsets' appears twice");
                    }
                    offsets = readLongArray(path, name, "data_offsets", p);
                }
                default -> throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY,
                        "unexpected field '" + field + "'");
            }
        }
        if (dtypeName == null || shape == null || offsets == null) {
            throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY,
                    "entry needs 'dtype', 'shape' and 'data_offsets'");
        }
        if (offsets.length != 2) {
            throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY,
                    "'data_offsets' has " + offsets.length + " values, not 2");
        }
        String dn = dtypeName;
        Dtype dtype = Dtype.fromSafetensorsName(dtypeName).orElseThrow(
                () -> new SafetensorsException(path, name, UNKNOWN_DTYPE, "unknown dtype '" + dn + "'"));
        return new Entry(new TensorInfo(name, dtype, shape, path), offsets[0], offsets[1]);
    }

    private static long[] readLongArray(Path path, String name, String field, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY, "'" + field + "' is not an array");
        }
        List<Long> values = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    || p.getLongValue() < 0) {
                throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY,
                        "'" + field + "' must hold non-negative integers below 2^63");
            }
            values.add(p.getLongValue());
            if (values.size() > 64) {
                throw new SafetensorsException(path, name, INVALID_TENSOR_ENTRY, "'" + field + "' is too long");
            }
        }
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    private static void validateLayout(Path path, Map<String, Entry> entries, long dataLen)
            throws SafetensorsException {
        for (Entry e : entries.values()) {
            String name = e.info.name();
            if (e.begin > e.end) {
                throw new SafetensorsException(path, name, OFFSETS_REVERSED,
                        "data_offsets [" + e.begin + ", " + e.end + "] are reversed");
            }
            if (e.end > dataLen) {
                throw new SafetensorsException(path, name, OFFSETS_OUT_OF_RANGE,
                        "data_offsets end " + e.end + " lies past the " + dataLen + "-byte data buffer");
            }
            long expected;
            try {
                expected = Math.multiplyExact(e.info.numel(), (long) e.info.dtype().size());
            } catch (ArithmeticException overflow) {
                throw new SafetensorsException(path, name, SHAPE_SPAN_MISMATCH,
                        "shape " + e.info.shapeString() + " overflows a 64-bit byte count");
            }
            if (expected != e.end - e.begin) {
                throw new SafetensorsException(path, name, SHAPE_SPAN_MISMATCH,
                        "shape " + e.info.shapeString() + " of " + e.info.dtype() + " needs " + expected
                                + " bytes but data_offsets span " + (e.end - e.begin));
            }
        }
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong((Entry e) -> e.begin).thenComparingLong(e -> e.end));
        long cursor = 0;
        for (Entry e : sorted) {
            if (e.begin < cursor) {
                throw new SafetensorsException(path, e.info.name(), OFFSETS_OVERLAP,
                        "data_offsets [" + e.begin + ", " + e.end + "] overlap the previous tensor, which ends at "
                                + cursor);
            }
            if (e.begin > cursor) {
                throw new SafetensorsException(path, e.info.name(), OFFSETS_HOLE,
                        "data_offsets start at " + e.begin + ", leaving a hole after byte " + cursor);
            }
            cursor = e.end;
        }
        if (cursor != dataLen) {
            throw new SafetensorsException(path, null, TRAILING_BYTES,
                    (dataLen - cursor) + " bytes after the last tensor are not described by the header");
        }
    }

    @Override
    public Path location() {
        return path;
    }

    @Override
    public List<Path> files() {
        return List.of(path);
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    /** The string-to-string metadata of the header ({@code __metadata__}); empty if absent. */
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public TensorInfo info(String name) throws CheckpointException {
        return entry(name).info;
    }

    private Entry entry(String name) throws SafetensorsException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new SafetensorsException(path, name, NO_SUCH_TENSOR, "no such tensor");
        }
        return e;
    }

    /**
     * A read-only little-endian view of one tensor's bytes, mapped from the file without copying. The view stays
     * valid after {@link #close()}.
     *
     * @throws CheckpointException for a tensor of 2 GiB or more (read it with {@link #readDoubles} in parts)
     */
    public ByteBuffer view(String name) throws CheckpointException {
        Entry e = entry(name);
        long len = e.end - e.begin;
        if (len > Integer.MAX_VALUE) {
            throw new CheckpointException(path, "tensor '" + name + "' is " + len + " bytes, too large for one view");
        }
        return map(name, dataStart + e.begin, len);
    }

    @Override
    public double[] readDoubles(String name) throws CheckpointException {
        Entry e = entry(name);
        int n = arrayLength(e);
        double[] out = new double[n];
        readElements(e, 0, out, 0, n);
        return out;
    }

    /** The tensor's element count, refused when one Java array cannot hold it. */
    private int arrayLength(Entry e) throws CheckpointException {
        long n = e.info.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(path, "tensor '" + e.info.name() + "' has " + n
                    + " elements, too many for one array");
        }
        return (int) n;
    }

    /**
     * Decoded a block of rows at a time (through {@link #readElements}) into a buffer and written from there into
     * place: one pass over the tensor instead of decoding it whole and then transposing it (a second W0-sized array
     * and pass).
     */
    @Override
    public double[] readColumnMajor(String name) throws CheckpointException {
        Entry e = entry(name);
        TensorInfo t = e.info;
        if (t.rank() != 2) {
            throw new CheckpointException(path, "tensor '" + name + "' is not 2-D: " + t);
        }
        double[] out = new double[arrayLength(e)];
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        int block = (int) Math.max(1, Math.min(rows, ROW_BLOCK_BYTES / Math.max(1L, (long) cols * Double.BYTES)));
        double[] buf = new double[Math.min(out.length, block * cols)];
        for (int r = 0; r < rows; r += block) {
            int count = Math.min(block, rows - r);
            readElements(e, (long) r * cols, buf, 0, count * cols);
            WeightSource.transposeRows(buf, 0, count, cols, out, r, rows);
        }
        return out;
    }

    /**
     * Elements [first, first + count) of a tensor in row-major order, converted exactly to double. Large tensors are
     * mapped in chunks, so this works for tensors of any size.
     */
    public void readElements(String name, long first, double[] dst, int dstOffset, int count)
            throws CheckpointException {
        Entry e = entry(name);
        if (first < 0 || count < 0 || first + count > e.info.numel()) {
            throw new IndexOutOfBoundsException("elements [" + first + ", " + (first + count) + ") of " + e.info);
        }
        readElements(e, first, dst, dstOffset, count);
    }

    private void readElements(Entry e, long first, double[] dst, int dstOffset, int count)
            throws CheckpointException {
        Dtype dtype = e.info.dtype();
        int perChunk = (int) (CHUNK_BYTES / dtype.size());
        int done = 0;
        while (done < count) {
            int n = Math.min(perChunk, count - done);
            long byteOffset = dataStart + e.begin + (first + done) * dtype.size();
            ByteBuffer buf = map(e.info.name(), byteOffset, (long) n * dtype.size());
            try {
                decodeMapped(path, channel, e.info.name(), sizeWhenOpened, byteOffset + (long) n * dtype.size(), dtype,
                        buf, n, dst, dstOffset + done);
            } finally {
                Unmapper.unmap(buf);
            }
            done += n;
        }
    }

    /**
     * Decodes {@code n} elements of the mapped bytes [start, end) of the file. A file truncated after it was mapped (a
     * program rewriting the checkpoint while convsim reads it) faults on the pages it lost: Java reads them as zeros and
     * raises an InternalError at the thread's next transition, not at the read; the size check that follows the
     * decoding is such a transition (a native call), so the fault surfaces here and is told as the file's problem.
     */
    static void decodeMapped(Path path, FileChannel channel, String tensor, long sizeWhenOpened, long end, Dtype dtype,
                             ByteBuffer buf, int n, double[] dst, int off) throws CheckpointException {
        try {
            dtype.readInto(buf, n, dst, off);
            if (size(path, channel) < end) {
                throw changedWhileRead(path, tensor, sizeWhenOpened);
            }
        } catch (ArithmeticException inexact) {
            throw new CheckpointException(path, "tensor '" + tensor + "': " + inexact.getMessage());
        } catch (InternalError fault) {
            if (fault.getMessage() == null || !fault.getMessage().contains("unsafe memory access")) {
                throw fault;
            }
            throw changedWhileRead(path, tensor, sizeWhenOpened);
        }
    }

    private static CheckpointException changedWhileRead(Path path, String tensor, long sizeWhenOpened) {
        String now;
        try {
            now = "it is now " + Files.size(path) + " bytes";
        } catch (IOException | RuntimeException gone) {
            now = "it is gone";
        }
        return new CheckpointException(path, "the file changed while convsim read tensor '" + tensor + "' (" + now
                + ", " + sizeWhenOpened + " when opened): another program truncated or rewrote it; run again once it"
                + " is written");
    }

    /** Bytes [offset, offset + len) of the file, which hold part of {@code tensor}. */
    private ByteBuffer map(String tensor, long offset, long len) throws CheckpointException {
        if (len == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        if (offset + len > size(path, channel)) {
            throw changedWhileRead(path, tensor, sizeWhenOpened);
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, len).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException ex) {
            throw new CheckpointException(path, "cannot map bytes " + offset + ".." + (offset + len) + ": "
                    + ex.getMessage());
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static long size(Path path, FileChannel ch) throws CheckpointException {
        try {
            return ch.size();
        } catch (IOException e) {
            throw new CheckpointException(path, "cannot read size: " + e.getMessage());
        }
    }

    private static ByteBuffer readFully(Path path, FileChannel ch, long pos, int len) throws CheckpointException {
        ByteBuffer buf = ByteBuffer.allocate(len);
        try {
            while (buf.hasRemaining()) {
                if (ch.read(buf, pos + buf.position()) < 0) {
                    throw new CheckpointException(path, "unexpected end of file at byte " + (pos + buf.position()));
                }
            }
        } catch (IOException e) {
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw new CheckpointException(path, "cannot read: " + e.getMessage());
        }
        return buf.flip();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to recover: the channel was read-only
        }
    }
}
