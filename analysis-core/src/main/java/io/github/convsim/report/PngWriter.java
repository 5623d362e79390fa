package io.github.convsim.report;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.awt.image.SinglePixelPackedSampleModel;
import java.awt.image.WritableRaster;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.internal.chartpart.IChart;

/**
 * Writes opaque images as 8-bit RGB PNG (ISO/IEC 15948: signature, IHDR, IDAT, IEND; no interlacing), every row
 * unfiltered and deflated at level 1. The figures are flat colour: deflate finds a cell's rows one row back without a
 * filter. ImageIO's writer tries all five filters on every row in Java: it took 640 ms for the demo report's 34
 * figures where this takes 240 ms, for files 15 % larger (BENCHMARKS.md, seventh session).
 */
public final class PngWriter {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final int COLOUR_TYPE_RGB = 2;
    private static final int IDAT_BYTES = 1 << 16;

    private PngWriter() {}

    /** Writes {@code image} to {@code file}. */
    public static void write(BufferedImage image, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            write(image, out);
        }
    }

    /** Draws {@code chart} at its own size (as XChart's BitmapEncoder draws it) and writes it to {@code file}. */
    public static void write(IChart chart, Path file) throws IOException {
        write(BitmapEncoder.getBufferedImage(chart), file);
    }

    /** Writes {@code image} as a PNG stream to {@code out}, which is flushed, not closed. */
    public static void write(BufferedImage image, OutputStream out) throws IOException {
        if (image.getColorModel().hasAlpha()) {
            throw new IllegalArgumentException("PngWriter writes opaque images; this one has an alpha channel");
        }
        int width = image.getWidth();
        int height = image.getHeight();
        DataOutputStream png = new DataOutputStream(new BufferedOutputStream(out, IDAT_BYTES + 12));
        png.write(SIGNATURE);
        byte[] header = new byte[13];
        putInt(header, 0, width);
        putInt(header, 4, height);
        header[8] = 8; // bits per sample
        header[9] = COLOUR_TYPE_RGB;
        // compression 0 (deflate), filter method 0, no interlace
        chunk(png, "IHDR", header, header.length);
        // the whole image's pixels where it is a plain TYPE_INT_RGB one; else one row at a time, through getRGB
        int[] packed = packedRgb(image);
        int[] source = packed != null ? packed : new int[width];
        // each row is its filter type (0, none) and its samples
        byte[] row = new byte[1 + 3 * width];
        byte[] compressed = new byte[IDAT_BYTES];
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        try {
            for (int y = 0; y < height; y++) {
                int from = 0;
                if (packed != null) {
                    from = y * width;
                } else {
                    image.getRGB(0, y, width, 1, source, 0, width);
                }
                for (int x = 0, k = 1; x < width; x++) {
                    int p = source[from + x];
                    row[k++] = (byte) (p >>> 16);
                    row[k++] = (byte) (p >>> 8);
                    row[k++] = (byte) p;
                }
                deflater.setInput(row);
                while (!deflater.needsInput()) {
                    idat(png, deflater, compressed);
                }
            }
            deflater.finish();
            while (!deflater.finished()) {
                idat(png, deflater, compressed);
            }
        } finally {
            deflater.end();
        }
        chunk(png, "IEND", new byte[0], 0);
        png.flush();
    }

    /** The pixels of a whole TYPE_INT_RGB image, row after row, or null when the image is another kind or a view. */
    private static int[] packedRgb(BufferedImage image) {
        WritableRaster r = image.getRaster();
        if (image.getType() == BufferedImage.TYPE_INT_RGB && r.getParent() == null
                && r.getSampleModelTranslateX() == 0 && r.getSampleModelTranslateY() == 0
                && r.getSampleModel() instanceof SinglePixelPackedSampleModel sm
                && sm.getScanlineStride() == image.getWidth()
                && r.getDataBuffer() instanceof DataBufferInt ints && ints.getOffset() == 0) {
            return ints.getData();
        }
        return null;
    }

    private static void idat(DataOutputStream png, Deflater deflater, byte[] compressed) throws IOException {
        int n = deflater.deflate(compressed);
        if (n > 0) {
            chunk(png, "IDAT", compressed, n);
        }
    }

    /** Length, type, data, and the CRC-32 of type and data. */
    private static void chunk(DataOutputStream png, String type, byte[] data, int length) throws IOException {
        byte[] name = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(name);
        crc.update(data, 0, length);
        png.writeInt(length);
        png.write(name);
        png.write(data, 0, length);
        png.writeInt((int) crc.getValue());
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
