package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PNG files read back by ImageIO pixel for pixel, and their chunks checked against the specification. */
class PngWriterTest {
    private static BufferedImage noise(int width, int height, int type, long seed) {
        BufferedImage img = new BufferedImage(width, height, type);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.setRGB(x, y, rng.nextInt() & 0xffffff);
            }
        }
        return img;
    }

    private static byte[] png(BufferedImage img) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PngWriter.write(img, out);
        return out.toByteArray();
    }

    private static void assertSamePixels(BufferedImage expected, BufferedImage actual) {
        assertEquals(expected.getWidth(), actual.getWidth());
        assertEquals(expected.getHeight(), actual.getHeight());
        for (int y = 0; y < expected.getHeight(); y++) {
            for (int x = 0; x < expected.getWidth(); x++) {
                assertEquals(expected.getRGB(x, y) & 0xffffff, actual.getRGB(x, y) & 0xffffff,
                        "pixel (" + x + ", " + y + ")");
            }
        }
    }

    @Test
    void imageIoReadsBackEveryPixel() throws IOException {
        // 1 x 1; an odd width; rows longer than one IDAT chunk holds compressed (random pixels barely compress)
        for (int[] size : new int[][] {{1, 1}, {37, 5}, {3000, 40}}) {
            BufferedImage img = noise(size[0], size[1], BufferedImage.TYPE_INT_RGB, size[0]);
            BufferedImage back = ImageIO.read(new ByteArrayInputStream(png(img)));
            assertNotNull(back, "ImageIO does not recognise the file");
            assertSamePixels(img, back);
        }
    }

    @Test
    void otherImageKindsAndViewsAreWrittenThroughTheirColours() throws IOException {
        BufferedImage bgr = noise(50, 30, BufferedImage.TYPE_3BYTE_BGR, 7);
        assertSamePixels(bgr, ImageIO.read(new ByteArrayInputStream(png(bgr))));
        // a view into a larger image: its own pixels, not the parent's rows
        BufferedImage parent = noise(60, 40, BufferedImage.TYPE_INT_RGB, 8);
        BufferedImage view = parent.getSubimage(5, 7, 30, 20);
        assertSamePixels(view, ImageIO.read(new ByteArrayInputStream(png(view))));
    }

    @Test
    void chunksFollowTheSpecification() throws IOException {
        byte[] file = png(noise(300, 200, BufferedImage.TYPE_INT_RGB, 3));
        ByteBuffer b = ByteBuffer.wrap(file);
        byte[] signature = new byte[8];
        b.get(signature);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, signature);
        List<String> types = new ArrayList<>();
        while (b.hasRemaining()) {
            int length = b.getInt();
            byte[] typeAndData = new byte[4 + length];
            b.get(typeAndData);
            CRC32 crc = new CRC32();
            crc.update(typeAndData);
            assertEquals((int) crc.getValue(), b.getInt(), "CRC of chunk " + types.size());
            String type = new String(typeAndData, 0, 4, StandardCharsets.US_ASCII);
            types.add(type);
            if (type.equals("IHDR")) {
                ByteBuffer h = ByteBuffer.wrap(typeAndData, 4, length);
                assertEquals(13, length);
                assertEquals(300, h.getInt());
                assertEquals(200, h.getInt());
                assertEquals(8, h.get(), "bit depth");
                assertEquals(2, h.get(), "colour type RGB");
                assertEquals(0, h.get(), "compression");
                assertEquals(0, h.get(), "filter method");
                assertEquals(0, h.get(), "interlace");
            }
        }
        assertEquals("IHDR", types.get(0));
        assertEquals("IEND", types.get(types.size() - 1));
        assertTrue(types.subList(1, types.size() - 1).stream().allMatch("IDAT"::equals), types.toString());
        assertTrue(types.size() > 3, "180 KB of random pixels span several IDAT chunks: " + types.size());
    }

    @Test
    void flatFiguresCompress() throws IOException {
        BufferedImage flat = new BufferedImage(800, 600, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = flat.createGraphics();
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, 800, 600);
        g.setColor(new java.awt.Color(68, 1, 84));
        g.fillRect(100, 100, 300, 200);
        g.dispose();
        byte[] file = png(flat);
        assertTrue(file.length < 800 * 600 * 3 / 100, "a flat 800 x 600 image takes " + file.length + " bytes");
        assertSamePixels(flat, ImageIO.read(new ByteArrayInputStream(file)));
    }

    @Test
    void imagesWithAlphaAreRefusedAndFilesAreWritten(@TempDir Path dir) throws IOException {
        BufferedImage argb = new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB);
        assertThrows(IllegalArgumentException.class, () -> png(argb));
        BufferedImage img = noise(20, 10, BufferedImage.TYPE_INT_RGB, 5);
        Path file = dir.resolve("x.png");
        PngWriter.write(img, file);
        assertSamePixels(img, ImageIO.read(Files.newInputStream(file)));
    }
}
