package io.github.convsim.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model split over several files by an index ({@code model.safetensors.index.json} or {@code
 * pytorch_model.bin.index.json}) whose {@code weight_map} names the shard of each tensor. Shards are opened when
 * first read, so a layer at a time touches only the shards it needs.
 */
public final class ShardedWeights implements WeightSource {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_INDEX_BYTES = 64L << 20;

    private final Path index;
    private final Map<String, Path> weightMap;
    private final List<Path> shardFiles;
    private final Map<Path, WeightSource> open = new HashMap<>();

    private ShardedWeights(Path index, Map<String, Path> weightMap, List<Path> shardFiles) {
        this.index = index;
        this.weightMap = weightMap;
        this.shardFiles = shardFiles;
    }

    public static ShardedWeights open(Path index) throws CheckpointException {
        InputFiles.requireRegularFile(index);
        JsonNode root;
        try {
            if (Files.size(index) > MAX_INDEX_BYTES) {
                throw new CheckpointException(index, "index is larger than " + MAX_INDEX_BYTES + " bytes");
            }
            HeapBudget.requireFor(index, Files.size(index), "index");
            root = JSON.readTree(index.toFile());
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException e) {
            throw new CheckpointException(index, "not a valid JSON index: " + firstLine(e.getMessage()));
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new CheckpointException(index, "index has no 'weight_map' object");
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, Path> weightMap = new LinkedHashMap<>();
        Set<Path> shards = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(index, "weight_map entry '" + e.getKey() + "' is not a file name");
            }
            String shard = e.getValue().asText();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..")
                    || shard.equals(".")) {
                throw new CheckpointException(index, "weight_map entry '" + e.getKey() + "' names '" + shard
                        + "', which is not a file beside the index");
            }
            Path file = dir.resolve(shard);
            if (!InputFiles.present(file)) {
                throw new CheckpointException(index, "shard '" + shard + "' named for '" + e.getKey()
                        + "' does not exist");
            }
            InputFiles.requireRegularFile(file);
            weightMap.put(e.getKey(), file);
            shards.add(file);
        }
        return new ShardedWeights(index, Collections.unmodifiableMap(weightMap), List.copyOf(shards));
    }

    @Override
    public Path location() {
        return index;
    }

    @Override
    public List<Path> files() {
        List<Path> all = new ArrayList<>();
        all.add(index);
        all.addAll(shardFiles);
        return all;
    }

    @Override
    public Set<String> names() {
        return weightMap.keySet();
    }

    @Override
    public TensorInfo info(String name) throws CheckpointException {
        return shardOf(name).info(name);
    }

    @Override
    public double[] readDoubles(String name) throws CheckpointException {
        return shardOf(name).readDoubles(name);
    }

    @Override
    public double[] readColumnMajor(String name) throws CheckpointException {
        return shardOf(name).readColumnMajor(name);
    }

    private synchronized WeightSource shardOf(String name) throws CheckpointException {
        Path file = weightMap.get(name);
        if (file == null) {
            throw new CheckpointException(index, "tensor '" + name + "' is not in the weight_map");
        }
        WeightSource s = open.get(file);
        if (s == null) {
            s = WeightSources.openFile(file);
            open.put(file, s);
        }
        if (!s.contains(name)) {
            throw new CheckpointException(file, "tensor '" + name + "' is listed in " + index.getFileName()
                    + " but missing from this shard");
        }
        return s;
    }

    /** Closes the shards opened so far; a later read opens them again. */
    @Override
    public synchronized void close() {
        open.values().forEach(WeightSource::close);
        open.clear();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
