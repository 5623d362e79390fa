package io.github.convsim.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class DeviceBudgetTest {
    private static final long GIB = 1L << 30;

    @Test
    void theDefaultIsTheFreeMemoryLessTheReserve() {
        assertEquals((long) (100 * GIB * 0.9), DeviceBudget.of(0, 100 * GIB).limit());
        assertEquals(40 * GIB, DeviceBudget.of(40 * GIB, 100 * GIB).limit());
    }

    @Test
    void moreThanIsFreeIsRefusedWithBothSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceBudget.of(200 * GIB, 100 * GIB));
        assertEquals("--gpu-memory 200.00 GiB is more than the 100.00 GiB free on the GPU", e.getMessage());
    }

    @Test
    void takingPastTheLimitFailsAsTheDeviceWould() {
        DeviceBudget b = DeviceBudget.of(1000, 5000);
        b.take(600);
        b.take(400);
        assertEquals(1000, b.used());
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> b.take(1));
        assertEquals(1, e.bytes());
        assertEquals(1000, b.used(), "a refused allocation is not counted");
        b.give(400);
        b.take(300);
        assertEquals(900, b.used());
    }
}
