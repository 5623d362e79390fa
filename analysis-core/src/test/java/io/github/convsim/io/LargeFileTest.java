package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files and tensors past 2 GiB, made as sparse files (no disk is used for the zeros): offsets beyond Integer.MAX_VALUE
 * and a single tensor of more than 2 GiB, read in parts.
 */
class LargeFileTest {
    @TempDir
    Path dir;

    @Test
    void readsTensorsBeyondAndAcross2GiB() throws Exception {
        long big = 600_000_000L; // F32 elements: 2.4 GB, more than one ByteBuffer can map
        String header = "{\"big\": {\"dtype\": \"F32\", \"shape\": [" + big + "], \"data_offsets\": [0, " + big * 4
                + "]}, \"tail\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [" + big * 4 + ", "
                + (big * 4 + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("large.safetensors");
        long dataStart = 8 + h.length;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(dataStart + big * 4 + 16);
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
            raf.write(len.array());
            raf.write(h);
            // the last element of "big", past 2 GiB into the file
            raf.seek(dataStart + (big - 1) * 4);
            raf.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(3.5f).array());
            raf.seek(dataStart + big * 4);
            raf.write(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(-1.25).putDouble(7).array());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new double[] {-1.25, 7}, f.readDoubles("tail"), 0.0);
            double[] last = new double[3];
            f.readElements("big", big - 3, last, 0, 3);
            assertArrayEquals(new double[] {0, 0, 3.5}, last, 0.0);
            CheckpointException e = assertThrows(CheckpointException.class, () -> f.view("big"));
            assertTrue(e.getMessage().contains("too large for one view"), e.getMessage());
            assertEquals(16, f.view("tail").remaining());
        }
    }
}
