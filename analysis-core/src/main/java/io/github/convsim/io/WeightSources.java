package io.github.convsim.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Finds and opens the weights at a path: a file, a sharded model's index, or a model directory. */
public final class WeightSources {
    /** Looked for in a directory, in this order. */
    static final List<String> DIRECTORY_CANDIDATES = List.of(
            "model.safetensors.index.json", "model.safetensors",
            "pytorch_model.bin.index.json", "pytorch_model.bin");

    private WeightSources() {}

    /**
     * Opens {@code path}: a {@code .safetensors} file, a {@code .bin}/{@code .pt}/{@code .pth} torch zip, an
     * {@code *.index.json}, or a directory holding one of {@link #DIRECTORY_CANDIDATES} or a single {@code
     * .safetensors} file.
     */
    public static WeightSource open(Path path) throws CheckpointException {
        if (InputFiles.attributes(path).isDirectory()) {
            for (String name : DIRECTORY_CANDIDATES) {
                Path p = path.resolve(name);
                if (InputFiles.present(p)) {
                    return openFile(p);
                }
            }
            List<Path> singles;
            try (Stream<Path> s = Files.list(path)) {
                singles = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            } catch (IOException e) {
                throw new CheckpointException(path, "cannot list directory: " + e.getMessage());
            }
            if (singles.size() == 1) {
                return openFile(singles.get(0));
            }
            throw new CheckpointException(path, singles.isEmpty()
                    ? "no model weights found (looked for " + String.join(", ", DIRECTORY_CANDIDATES) + ")"
                    : "several .safetensors files and no index; pass one file or add model.safetensors.index.json");
        }
        return openFile(path);
    }

    static WeightSource openFile(Path file) throws CheckpointException {
        String name = file.getFileName().toString();
        if (name.endsWith(".index.json")) {
            return ShardedWeights.open(file);
        }
        if (name.endsWith(".safetensors")) {
            return SafetensorsFile.open(file);
        }
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth")) {
            return TorchStateDict.open(file);
        }
        throw new CheckpointException(file, "unknown weight format (expected .safetensors, .bin, .pt, .pth or"
                + " an .index.json)");
    }
}
