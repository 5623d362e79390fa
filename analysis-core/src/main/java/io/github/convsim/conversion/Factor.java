package io.github.convsim.conversion;

/** Which LoRA quantity a conversion matrix maps W0 to. */
public enum Factor {
    /** C_A, from lora_A [r, in]. */
    A("A"),
    /** C_B, from lora_B [out, r]. */
    B("B"),
    /** C_dW = C_B A, from the update B A. */
    DW("dW");

    private final String label;

    Factor(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static Factor parse(String s) {
        for (Factor f : values()) {
            if (f.label.equalsIgnoreCase(s.trim())) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown factor '" + s + "' (expected A, B or dW)");
    }
}
