package io.github.convsim.report;

import java.awt.Color;

/**
 * A diverging colour map for signed values around 0 (ColorBrewer's RdBu, reversed): blue below, white at the middle,
 * red above. Used for z-maps, whose sign is the message.
 */
final class Diverging {
    private static final ColourMap MAP = new ColourMap(0x2166AC, 0x4393C3, 0x92C5DE, 0xF7F7F7, 0xF4A582, 0xD6604D,
            0xB2182B);

    private Diverging() {}

    /** The colour of {@code t} in [0, 1] (clamped); 0.5 is the white middle. */
    static Color at(double t) {
        return MAP.at(t);
    }

    static Color[] anchors() {
        return MAP.anchors();
    }
}
