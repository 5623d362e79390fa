package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.io.SafetensorsException.Violation;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    /** A file from a header and data bytes, with the header's length prefix. */
    private Path file(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(h, data);
    }

    private Path raw(byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data);
        Path p = Files.createTempFile(dir, "t", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private static Violation violation(Path p) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        return e.violation();
    }

    @Test
    void readsTheBundledAdapterExactly() throws Exception {
        Path p = TestData.bertAdapter().resolve("adapter_model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(50, f.names().size());
            assertEquals("pt", f.metadata().get("format"));
            TensorInfo a = f.info("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight");
            assertEquals(Dtype.F32, a.dtype());
            assertArrayEquals(new long[] {8, 768}, a.shape());
            double[] v = f.readDoubles(a.name());
            ByteBuffer view = f.view(a.name());
            assertEquals(8 * 768 * 4, view.remaining());
            for (int k = 0; k < v.length; k += 97) {
                assertEquals(view.getFloat(4 * k), v[k], 0.0, "element " + k);
            }
        }
    }

    @Test
    void writerRoundTripsEveryWritableDtype() throws Exception {
        Random rng = new Random(3);
        double[] x = TestData.gaussian(rng, 6);
        Path p = dir.resolve("rt.safetensors");
        new SafetensorsWriter().metadata("k", "v").add("d", Dtype.F64, new long[] {2, 3}, x)
                .add("f", Dtype.F32, new long[] {6}, x).add("b", Dtype.BF16, new long[] {3, 2}, x)
                .add("empty", Dtype.F32, new long[] {0, 4}, new double[0]).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(x, f.readDoubles("d"), 0.0);
            double[] fl = f.readDoubles("f");
            double[] bf = f.readDoubles("b");
            for (int i = 0; i < 6; i++) {
                assertEquals((float) x[i], fl[i], 0.0);
                assertEquals(x[i], bf[i], Math.abs(x[i]) / 256);
            }
            assertEquals(0, f.readDoubles("empty").length);
            assertEquals("v", f.metadata().get("k"));
        }
    }

    /**
     * readColumnMajor (decoded a block of rows at a time into place) equals the row-major elements transposed, for
     * every dtype the writer takes (F16 decodes through the same readInto, DtypeTest) and shapes with one block,
     * several blocks and a partial last block (4096 columns: 128 rows to a block), and so does the default path of a
     * source that does not decode in place.
     */
    @Test
    void columnMajorReadsAreTheRowMajorElementsTransposed() throws Exception {
        Random rng = new Random(4);
        long[][] shapes = {{1, 1}, {3, 5}, {300, 7}, {300, 4096}, {0, 4}};
        SafetensorsWriter w = new SafetensorsWriter();
        for (Dtype d : new Dtype[] {Dtype.F64, Dtype.F32, Dtype.BF16}) {
            for (long[] shape : shapes) {
                w.add(d + "_" + shape[0] + "x" + shape[1], d, shape,
                        TestData.gaussian(rng, (int) (shape[0] * shape[1])));
            }
        }
        w.add("vector", Dtype.F32, new long[] {6}, TestData.gaussian(rng, 6));
        Path p = dir.resolve("cm.safetensors");
        w.write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            WeightSource plain = new WeightSource() {
                public Path location() { return f.location(); }
                public java.util.List<Path> files() { return f.files(); }
                public java.util.Set<String> names() { return f.names(); }
                public TensorInfo info(String name) throws CheckpointException { return f.info(name); }
                public double[] readDoubles(String name) throws CheckpointException { return f.readDoubles(name); }
                public void close() {}
            };
            for (String name : f.names()) {
                TensorInfo t = f.info(name);
                if (t.rank() != 2) {
                    assertThrows(CheckpointException.class, () -> f.readColumnMajor(name));
                    assertThrows(CheckpointException.class, () -> plain.readColumnMajor(name));
                    continue;
                }
                int rows = (int) t.dim(0);
                int cols = (int) t.dim(1);
                double[] rowMajor = f.readDoubles(name);
                double[] expected = new double[rowMajor.length];
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) {
                        expected[i + j * rows] = rowMajor[i * cols + j];
                    }
                }
                assertArrayEquals(expected, f.readColumnMajor(name), 0.0, name);
                assertArrayEquals(expected, plain.readColumnMajor(name), 0.0, name + ", default path");
            }
        }
    }

    @Test
    void readsElementRangesOfLargeTensorsInChunks() throws Exception {
        double[] x = new double[1000];
        for (int i = 0; i < x.length; i++) {
            x[i] = i;
        }
        Path p = dir.resolve("r.safetensors");
        new SafetensorsWriter().add("x", Dtype.F32, new long[] {10, 100}, x).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            double[] part = new double[5];
            f.readElements("x", 995, part, 0, 5);
            assertArrayEquals(new double[] {995, 996, 997, 998, 999}, part, 0.0);
            assertThrows(IndexOutOfBoundsException.class, () -> f.readElements("x", 998, part, 0, 5));
        }
    }

    @Test
    void fileShorterThanTheLengthPrefix() throws Exception {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertEquals(Violation.FILE_TOO_SHORT, violation(p));
    }

    @Test
    void headerLongerThanTheFile() throws Exception {
        Path p = dir.resolve("long.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Files.write(p, b.array());
        assertEquals(Violation.HEADER_BEYOND_FILE, violation(p));
    }

    @Test
    void headerAboveOneHundredMegabytes() throws Exception {
        Path p = dir.resolve("huge.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_001L).putLong(0);
        Files.write(p, b.array());
        assertEquals(Violation.HEADER_TOO_LARGE, violation(p));
        ByteBuffer neg = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-8).putLong(0);
        Files.write(p, neg.array());
        assertEquals(Violation.HEADER_TOO_LARGE, violation(p));
    }

    @Test
    void headerNotUtf8() throws Exception {
        assertEquals(Violation.HEADER_NOT_UTF8, violation(raw(new byte[] {'{', (byte) 0xff, '}'}, new byte[0])));
    }

    @Test
    void headerNotAJsonObject() throws Exception {
        assertEquals(Violation.HEADER_NOT_JSON_OBJECT, violation(file("[1, 2]", new byte[0])));
        assertEquals(Violation.HEADER_NOT_JSON_OBJECT, violation(file("{\"a\": ", new byte[0])));
        assertEquals(Violation.HEADER_NOT_JSON_OBJECT, violation(file("{} {}", new byte[0])));
    }

    @Test
    void metadataNotStringToString() throws Exception {
        assertEquals(Violation.INVALID_METADATA, violation(file("{\"__metadata__\": {\"a\": 1}}", new byte[0])));
        assertEquals(Violation.INVALID_METADATA, violation(file("{\"__metadata__\": [\"a\"]}", new byte[0])));
    }

    @Test
    void unknownDtype() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"F128\", \"shape\": [1], \"data_offsets\": [0, 16]}}", new byte[16]);
        assertEquals(Violation.UNKNOWN_DTYPE, violation(p));
    }

    @Test
    void duplicateNames() throws Exception {
        String t = "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}";
        assertEquals(Violation.DUPLICATE_NAME, violation(file("{\"x\": " + t + ", \"x\": " + t + "}", new byte[4])));
    }

    @Test
    void shapeDisagreesWithByteSpan() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", new byte[8]);
        assertEquals(Violation.SHAPE_SPAN_MISMATCH, violation(p));
        Path overflow = file("{\"x\": {\"dtype\": \"F64\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 8]}}",
                new byte[8]);
        assertEquals(Violation.SHAPE_SPAN_MISMATCH, violation(overflow));
    }

    @Test
    void offsetsReversed() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", new byte[4]);
        assertEquals(Violation.OFFSETS_REVERSED, violation(p));
    }

    @Test
    void offsetsOutOfRange() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", new byte[4]);
        assertEquals(Violation.OFFSETS_OUT_OF_RANGE, violation(p));
    }

    @Test
    void offsetsOverlap() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"y\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", new byte[12]);
        assertEquals(Violation.OFFSETS_OVERLAP, violation(p));
    }

    @Test
    void offsetsLeaveAHole() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                + " \"y\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", new byte[12]);
        assertEquals(Violation.OFFSETS_HOLE, violation(p));
        Path start = file("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", new byte[8]);
        assertEquals(Violation.OFFSETS_HOLE, violation(start));
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", new byte[6]);
        assertEquals(Violation.TRAILING_BYTES, violation(p));
    }

    @Test
    void malformedEntry() throws Exception {
        assertEquals(Violation.INVALID_TENSOR_ENTRY,
                violation(file("{\"x\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", new byte[4])));
        assertEquals(Violation.INVALID_TENSOR_ENTRY,
                violation(file("{\"x\": {\"dtype\": \"F32\", \"shape\": [1]}}", new byte[4])));
        assertEquals(Violation.INVALID_TENSOR_ENTRY,
                violation(file("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", new byte[4])));
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        Path p = file("{}", new byte[0]);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readDoubles("nope"));
            assertEquals(Violation.NO_SUCH_TENSOR, e.violation());
            assertEquals("nope", e.tensor());
        }
    }

    @Test
    void headerPaddingWithSpacesIsAccepted() throws Exception {
        Path p = file("{\"x\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}      ", new byte[] {7, (byte) 200});
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new double[] {7, 200}, f.readDoubles("x"), 0.0);
        }
    }

    @Test
    void openAndCloseThousandsOfTimesKeepsNoHandles() throws Exception {
        Path p = TestData.bertAdapter().resolve("adapter_model.safetensors");
        for (int k = 0; k < 3000; k++) {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                f.readDoubles("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight");
            }
        }
        // the descriptor count of this process stays far from any limit
        long open;
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            open = s.count();
        }
        assertTrue(open < 500, "open file descriptors: " + open);
    }

    @Test
    void aFileTruncatedAfterOpeningIsNamedAsChangedWhileRead() throws Exception {
        Path p = dir.resolve("rewritten.safetensors");
        double[] x = TestData.gaussian(new Random(3), 4096);
        new SafetensorsWriter().add("a", Dtype.F32, new long[] {4096}, x).add("b", Dtype.F32, new long[] {64, 64}, x)
                .write(p);
        long size = Files.size(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            // a trainer saving into the same file truncates it first
            try (var w = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
                w.truncate(100);
            }
            CheckpointException e = assertThrows(CheckpointException.class, () -> f.readDoubles("b"));
            assertEquals(p + ": the file changed while convsim read tensor 'b' (it is now 100 bytes, " + size
                    + " when opened): another program truncated or rewrote it; run again once it is written",
                    e.getMessage());
        }
    }

    @Test
    void aMappedRegionTruncatedWhileDecodedIsTheFilesProblemNotAnInternalError() throws Exception {
        Path p = dir.resolve("mapped.bin");
        Files.write(p, new byte[1 << 20]);
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ)) {
            ByteBuffer mapped = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, 1 << 20);
            try (var w = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
                w.truncate(0);
            }
            double[] dst = new double[1 << 18];
            // Java turns the fault on a lost page into an InternalError, raised later; the reader says what happened
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> SafetensorsFile.decodeMapped(p, ch, "w", 1 << 20, 1 << 20, Dtype.F32, mapped, 1 << 18, dst, 0));
            assertEquals(p + ": the file changed while convsim read tensor 'w' (it is now 0 bytes, 1048576 when"
                    + " opened): another program truncated or rewrote it; run again once it is written", e.getMessage());
            Unmapper.unmap(mapped);
        }
    }
}
