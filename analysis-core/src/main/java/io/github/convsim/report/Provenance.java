package io.github.convsim.report;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Where a result came from: tool version and runtime; hashes and options are added by the analysis. */
public final class Provenance {
    private Provenance() {}

    /** convsim's version, from the build. */
    public static String toolVersion() {
        try (InputStream in = Provenance.class.getResourceAsStream("/io/github/convsim/version.properties")) {
            if (in == null) {
                return "dev";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "dev");
        } catch (IOException e) {
            return "dev";
        }
    }
}
