package io.github.convsim.report;

import java.awt.Color;

/**
 * The viridis colour map (van der Walt and Smith, matplotlib 2.0): perceptually uniform, readable in grey scale and
 * by the common forms of colour blindness. Sixteen anchors, linearly interpolated.
 */
public final class Viridis {
    private static final int[] ANCHORS = {
        0x440154, 0x481A6C, 0x472F7D, 0x414487, 0x39568C, 0x31688E, 0x2A788E, 0x23888E,
        0x1F988B, 0x22A884, 0x35B779, 0x54C568, 0x7AD151, 0xA5DB36, 0xD2E21B, 0xFDE725};

    private Viridis() {}

    /** The colour of {@code t} in [0, 1] (clamped). */
    public static Color at(double t) {
        double x = Math.max(0, Math.min(1, t)) * (ANCHORS.length - 1);
        int k = Math.min(ANCHORS.length - 2, (int) Math.floor(x));
        double f = x - k;
        int a = ANCHORS[k];
        int b = ANCHORS[k + 1];
        return new Color(mix(a >> 16, b >> 16, f), mix(a >> 8, b >> 8, f), mix(a, b, f));
    }

    /** The anchors as colours, for charts that interpolate a gradient themselves. */
    public static Color[] anchors() {
        Color[] c = new Color[ANCHORS.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = new Color(ANCHORS[i]);
        }
        return c;
    }

    /** Black or white, whichever contrasts more with {@code background} (WCAG relative luminance). */
    public static Color textOn(Color background) {
        double l = 0.2126 * linear(background.getRed()) + 0.7152 * linear(background.getGreen())
                + 0.0722 * linear(background.getBlue());
        // contrast with black (l + 0.05) / 0.05 against white 1.05 / (l + 0.05): equal at l = 0.179
        return l > 0.179 ? Color.BLACK : Color.WHITE;
    }

    private static double linear(int channel) {
        double c = channel / 255.0;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }

    private static int mix(int a, int b, double f) {
        int x = a & 0xff;
        int y = b & 0xff;
        return (int) Math.round(x + (y - x) * f);
    }
}
