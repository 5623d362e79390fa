package io.github.convsim.report;

import de.erichseifert.vectorgraphics2d.Document;
import de.erichseifert.vectorgraphics2d.VectorGraphics2D;
import de.erichseifert.vectorgraphics2d.svg.SVGProcessor;
import de.erichseifert.vectorgraphics2d.util.PageSize;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Heatmaps side by side in one figure, for a paper: a map, its nulls on the same colour scale, and its z-map. Each
 * panel keeps its own colour bar and note.
 */
public final class PanelFigure {
    private final List<HeatmapFigure> panels;

    public PanelFigure(List<HeatmapFigure> panels) {
        this.panels = List.copyOf(panels);
    }

    public List<HeatmapFigure> panels() {
        return panels;
    }

    public int width() {
        return panels.stream().mapToInt(HeatmapFigure::width).sum();
    }

    public int height() {
        return panels.stream().mapToInt(HeatmapFigure::height).max().orElse(0);
    }

    private void paint(Graphics2D g) {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width(), height());
        int x = 0;
        for (HeatmapFigure f : panels) {
            Graphics2D p = (Graphics2D) g.create();
            p.translate(x, 0);
            f.chart().paint(p, f.width(), f.height());
            p.dispose();
            x += f.width();
        }
    }

    public BufferedImage toImage() {
        BufferedImage img = new BufferedImage(width(), height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        paint(g);
        g.dispose();
        return img;
    }

    /** Writes {@code stem}.png and/or {@code stem}.svg, as {@code formats} ("png", "svg") asks. */
    public void write(Path stem, Set<String> formats) throws IOException {
        if (formats.contains("png")) {
            PngWriter.write(toImage(), stem.resolveSibling(stem.getFileName() + ".png"));
        }
        if (formats.contains("svg")) {
            VectorGraphics2D g = new VectorGraphics2D();
            paint(g);
            Document doc = new SVGProcessor().getDocument(g.getCommands(), new PageSize(0, 0, width(), height()));
            try (OutputStream out = Files.newOutputStream(stem.resolveSibling(stem.getFileName() + ".svg"))) {
                doc.writeTo(out);
            }
        }
    }
}
