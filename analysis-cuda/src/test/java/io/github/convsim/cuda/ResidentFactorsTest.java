package io.github.convsim.cuda;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResidentFactorsTest {
    private final List<Long> freed = new ArrayList<>();
    private final ResidentFactors residents = new ResidentFactors(e -> freed.add(e.packed().address()));
    private long next = 16;

    private static LuFactors factors(int n) {
        return new LuFactors(Matrix.identity(n), new int[n], Precision.FP64);
    }

    private ResidentFactors.Entry entry(LuFactors lu) {
        next += 16;
        return new ResidentFactors.Entry(MemorySegment.ofAddress(next), MemorySegment.ofAddress(next + 8),
                (long) lu.n() * lu.n() * 8, lu.n(), lu.precision());
    }

    @Test
    void factorsAreFoundByTheirArrayNotByTheirValues() {
        LuFactors lu = factors(3);
        ResidentFactors.Entry e = entry(lu);
        residents.keep(lu, e);
        assertSame(e, residents.find(lu));
        assertSame(e, residents.find(new LuFactors(lu.packed(), lu.pivots(), Precision.FP64)), "same array");
        assertNull(residents.find(factors(3)), "equal values in another array are other factors");
        assertNull(residents.find(new LuFactors(lu.packed(), lu.pivots(), Precision.FP32)), "another precision");
    }

    @Test
    void theLeastRecentlyUsedLeavesFirstAndTheCurrentCallsStay() {
        LuFactors a = factors(2);
        LuFactors b = factors(2);
        LuFactors c = factors(2);
        ResidentFactors.Entry ea = entry(a);
        ResidentFactors.Entry eb = entry(b);
        ResidentFactors.Entry ec = entry(c);
        residents.keep(a, ea);
        residents.keep(b, eb);
        residents.keep(c, ec);
        residents.find(a); // a is used again, and held by the work that found it
        assertTrue(residents.evictOne());
        assertEquals(List.of(eb.packed().address()), freed, "b is the least recently used");
        assertTrue(residents.evictOne());
        assertEquals(ec.packed().address(), freed.get(1));
        assertFalse(residents.evictOne(), "a is held by the work that found it");
        residents.release();
        assertTrue(residents.evictOne());
        assertEquals(0, residents.size());
    }

    @Test
    void keepingNewFactorsForTheSameArrayFreesTheOldCopy() {
        LuFactors a = factors(2);
        ResidentFactors.Entry first = entry(a);
        ResidentFactors.Entry second = entry(a);
        residents.keep(a, first);
        residents.keep(a, second);
        assertEquals(List.of(first.packed().address()), freed);
        assertEquals(1, residents.size());
        assertEquals(32, residents.bytes());
    }

    @Test
    void theCopiesOfFactorsNoLongerHeldAreFreed() throws InterruptedException {
        residents.keep(factors(64), entry(factors(1)));
        residents.release();
        for (int k = 0; k < 50 && freed.isEmpty(); k++) {
            System.gc();
            Thread.sleep(10);
            residents.find(factors(1)); // any call purges
        }
        assertEquals(1, freed.size(), "the device copy of factors the program dropped is freed");
        assertEquals(0, residents.size());
    }

    @Test
    void clearFreesEverything() {
        for (int k = 0; k < 4; k++) {
            LuFactors lu = factors(2);
            residents.keep(lu, entry(lu));
        }
        residents.clear();
        assertEquals(4, freed.size());
        assertEquals(0, residents.size());
    }
}
