package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Conversions against known bit patterns. */
class DtypeTest {
    private static double read(Dtype d, int... bytes) {
        ByteBuffer b = ByteBuffer.allocate(bytes.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : bytes) {
            b.put((byte) x);
        }
        return d.read(b, 0);
    }

    @Test
    void float16() {
        assertEquals(1.0, read(Dtype.F16, 0x00, 0x3c));
        assertEquals(-2.0, read(Dtype.F16, 0x00, 0xc0));
        assertEquals(65504.0, read(Dtype.F16, 0xff, 0x7b));
        assertEquals(Math.scalb(1.0, -24), read(Dtype.F16, 0x01, 0x00)); // smallest subnormal
        assertEquals(Math.scalb(1.0, -14), read(Dtype.F16, 0x00, 0x04)); // smallest normal
        assertEquals(Double.POSITIVE_INFINITY, read(Dtype.F16, 0x00, 0x7c));
        assertTrue(Double.isNaN(read(Dtype.F16, 0x01, 0x7e)));
        assertEquals(0.333251953125, read(Dtype.F16, 0x55, 0x35));
    }

    @Test
    void bfloat16() {
        assertEquals(1.0, read(Dtype.BF16, 0x80, 0x3f));
        assertEquals(-2.0, read(Dtype.BF16, 0x00, 0xc0));
        assertEquals(3.140625, read(Dtype.BF16, 0x49, 0x40));
        assertEquals(Double.NEGATIVE_INFINITY, read(Dtype.BF16, 0x80, 0xff));
    }

    @Test
    void float8E4M3fn() {
        assertEquals(1.0, read(Dtype.F8_E4M3, 0x38));
        assertEquals(448.0, read(Dtype.F8_E4M3, 0x7e));
        assertEquals(-448.0, read(Dtype.F8_E4M3, 0xfe));
        assertEquals(Math.scalb(1.0, -9), read(Dtype.F8_E4M3, 0x01));
        assertEquals(Math.scalb(1.0, -6), read(Dtype.F8_E4M3, 0x08));
        assertTrue(Double.isNaN(read(Dtype.F8_E4M3, 0x7f)));
        assertEquals(0.0, read(Dtype.F8_E4M3, 0x00));
    }

    @Test
    void float8E5M2() {
        assertEquals(1.0, read(Dtype.F8_E5M2, 0x3c));
        assertEquals(57344.0, read(Dtype.F8_E5M2, 0x7b));
        assertEquals(Math.scalb(1.0, -16), read(Dtype.F8_E5M2, 0x01));
        assertEquals(Double.POSITIVE_INFINITY, read(Dtype.F8_E5M2, 0x7c));
        assertTrue(Double.isNaN(read(Dtype.F8_E5M2, 0x7d)));
    }

    @Test
    void integersAndBool() {
        assertEquals(-1.0, read(Dtype.I64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
        assertEquals(-2.0, read(Dtype.I32, 0xfe, 0xff, 0xff, 0xff));
        assertEquals(-3.0, read(Dtype.I16, 0xfd, 0xff));
        assertEquals(-4.0, read(Dtype.I8, 0xfc));
        assertEquals(252.0, read(Dtype.U8, 0xfc));
        assertEquals(1.0, read(Dtype.BOOL, 0x01));
        assertEquals(0.0, read(Dtype.BOOL, 0x00));
        assertThrows(ArithmeticException.class,
                () -> read(Dtype.I64, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00)); // 2^53 + 1
    }

    @Test
    void bulkReadAgreesWithElementRead() {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 10; i++) {
            b.putFloat(i * 0.3f - 1);
        }
        double[] out = new double[10];
        Dtype.F32.readInto(b, 10, out, 0);
        for (int i = 0; i < 10; i++) {
            assertEquals(Dtype.F32.read(b, i), out[i], 0.0);
        }
    }

    /** Every 16-bit pattern (NaN, infinities and subnormals included), through more than one bulk chunk. */
    @Test
    void bulk16BitReadsAgreeWithElementReadsOnEveryPattern() {
        int count = (1 << 16) + 1000;
        ByteBuffer b = ByteBuffer.allocate(2 * count).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            b.putShort((short) (i * 40503));
        }
        for (Dtype d : new Dtype[] {Dtype.BF16, Dtype.F16}) {
            double[] out = new double[count + 3];
            d.readInto(b, count, out, 3);
            for (int i = 0; i < count; i++) {
                double expected = d.read(b, i);
                assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(out[3 + i]),
                        d + " element " + i + ": " + expected + " vs " + out[3 + i]);
            }
        }
    }
}
