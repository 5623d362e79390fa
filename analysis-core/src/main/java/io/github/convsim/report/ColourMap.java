package io.github.convsim.report;

import java.awt.Color;

/** A colour map given by evenly spaced anchor colours, linearly interpolated between them. */
final class ColourMap {
    private final int[] anchors;

    ColourMap(int... anchors) {
        this.anchors = anchors.clone();
    }

    /** The colour of {@code t} in [0, 1] (clamped). */
    Color at(double t) {
        double x = Math.max(0, Math.min(1, t)) * (anchors.length - 1);
        int k = Math.min(anchors.length - 2, (int) Math.floor(x));
        double f = x - k;
        int a = anchors[k];
        int b = anchors[k + 1];
        return new Color(mix(a >> 16, b >> 16, f), mix(a >> 8, b >> 8, f), mix(a, b, f));
    }

    /** The anchors as colours, for charts that interpolate a gradient themselves. */
    Color[] anchors() {
        Color[] c = new Color[anchors.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = new Color(anchors[i]);
        }
        return c;
    }

    private static int mix(int a, int b, double f) {
        int x = a & 0xff;
        int y = b & 0xff;
        return (int) Math.round(x + (y - x) * f);
    }
}
