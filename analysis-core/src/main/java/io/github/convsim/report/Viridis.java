package io.github.convsim.report;

import java.awt.Color;

/**
 * The viridis colour map (van der Walt and Smith, matplotlib 2.0): perceptually uniform, readable in grey scale and
 * by the common forms of colour blindness. Sixteen anchors, linearly interpolated.
 */
public final class Viridis {
    private static final ColourMap MAP = new ColourMap(
        0x440154, 0x481A6C, 0x472F7D, 0x414487, 0x39568C, 0x31688E, 0x2A788E, 0x23888E,
        0x1F988B, 0x22A884, 0x35B779, 0x54C568, 0x7AD151, 0xA5DB36, 0xD2E21B, 0xFDE725);

    private Viridis() {}

    /** The colour of {@code t} in [0, 1] (clamped). */
    public static Color at(double t) {
        return MAP.at(t);
    }

    /** The anchors as colours, for charts that interpolate a gradient themselves. */
    public static Color[] anchors() {
        return MAP.anchors();
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
}
