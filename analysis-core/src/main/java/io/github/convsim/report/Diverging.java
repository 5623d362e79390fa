package io.github.convsim.report;

import java.awt.Color;

/**
 * A diverging colour map for signed values around 0 (ColorBrewer's RdBu, reversed): blue below, white at the middle,
 * red above. Used for z-maps, whose sign is the message.
 */
final class Diverging {
    private static final int[] ANCHORS = {0x2166AC, 0x4393C3, 0x92C5DE, 0xF7F7F7, 0xF4A582, 0xD6604D, 0xB2182B};

    private Diverging() {}

    /** The colour of {@code t} in [0, 1] (clamped); 0.5 is the white middle. */
    static Color at(double t) {
        double x = Math.max(0, Math.min(1, t)) * (ANCHORS.length - 1);
        int k = Math.min(ANCHORS.length - 2, (int) Math.floor(x));
        double f = x - k;
        int a = ANCHORS[k];
        int b = ANCHORS[k + 1];
        return new Color(mix(a >> 16, b >> 16, f), mix(a >> 8, b >> 8, f), mix(a, b, f));
    }

    static Color[] anchors() {
        Color[] c = new Color[ANCHORS.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = new Color(ANCHORS[i]);
        }
        return c;
    }

    private static int mix(int a, int b, double f) {
        int x = a & 0xff;
        int y = b & 0xff;
        return (int) Math.round(x + (y - x) * f);
    }
}
