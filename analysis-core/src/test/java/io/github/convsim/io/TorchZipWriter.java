package io.github.convsim.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes torch.save's zip layout with a hand-assembled pickle, for hostile cases that PyTorch itself would not write:
 * a state dict {name: _rebuild_tensor_v2(storage, offset, size, stride)} over one FloatStorage.
 */
final class TorchZipWriter {
    private final ByteArrayOutputStream pickle = new ByteArrayOutputStream();

    private TorchZipWriter() {}

    private TorchZipWriter op(int... bytes) {
        for (int b : bytes) {
            pickle.write(b);
        }
        return this;
    }

    private TorchZipWriter text(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X', b.length & 0xff, (b.length >> 8) & 0xff, 0, 0);
        pickle.writeBytes(b);
        return this;
    }

    private TorchZipWriter global(String module, String name) {
        op('c');
        pickle.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    /** LONG1: any 64-bit value, little-endian two's complement. */
    private TorchZipWriter integer(long v) {
        op(0x8a, 8);
        for (int i = 0; i < 8; i++) {
            op((int) (v >>> (8 * i)) & 0xff);
        }
        return this;
    }

    private TorchZipWriter tuple(long... values) {
        op('(');
        for (long v : values) {
            integer(v);
        }
        return op('t');
    }

    /** The pickle of {name: tensor(storage '0' of storageNumel floats, offset, size, stride)}. */
    static byte[] tensorPickle(String name, long storageNumel, long offset, long[] size, long[] stride) {
        TorchZipWriter w = new TorchZipWriter();
        w.op(0x80, 2, '}').text(name).global("torch._utils", "_rebuild_tensor_v2").op('(');
        w.op('(').text("storage").global("torch", "FloatStorage").text("0").text("cpu").integer(storageNumel)
                .op('t', 'Q');
        w.integer(offset).tuple(size).tuple(stride).op(0x89).global("collections", "OrderedDict").op(')', 'R');
        w.op('t', 'R', 's', '.');
        return w.pickle.toByteArray();
    }

    /** A pickle that memoizes one value {@code times} times (MEMOIZE, one byte each), then stops. */
    static byte[] memoBomb(int times) {
        TorchZipWriter w = new TorchZipWriter();
        w.op(0x80, 4, '}');
        for (int i = 0; i < times; i++) {
            w.op(0x94);
        }
        return w.op('.').pickle.toByteArray();
    }

    /** archive/data.pkl and archive/data/0 holding {@code storageBytes} zero bytes, deflated or stored. */
    static Path write(Path file, byte[] pickle, long storageBytes, boolean deflate) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(pickle);
            zip.closeEntry();
            ZipEntry data = new ZipEntry("archive/data/0");
            if (!deflate) {
                data.setMethod(ZipEntry.STORED);
                data.setSize(storageBytes);
                data.setCompressedSize(storageBytes);
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                byte[] zeros = new byte[1 << 16];
                for (long left = storageBytes; left > 0; left -= zeros.length) {
                    crc.update(zeros, 0, (int) Math.min(left, zeros.length));
                }
                data.setCrc(crc.getValue());
            }
            zip.putNextEntry(data);
            writeZeros(zip, storageBytes);
            zip.closeEntry();
        }
        return file;
    }

    private static void writeZeros(OutputStream out, long n) throws IOException {
        byte[] zeros = new byte[1 << 16];
        for (long left = n; left > 0; left -= zeros.length) {
            out.write(zeros, 0, (int) Math.min(left, zeros.length));
        }
    }
}
