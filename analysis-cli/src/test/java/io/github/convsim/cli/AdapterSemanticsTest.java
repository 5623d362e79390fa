package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.io.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** adapter_config.json read as PEFT reads it, and a base that does not match the adapter refused. */
class AdapterSemanticsTest {
    @TempDir
    Path dir;

    private static final Path DEMO = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
    private static final String BASE = CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors")
            .toString();

    /** A copy of the demo adapter with its config edited and its tensor names renamed. */
    private Path variant(String name, Consumer<ObjectNode> config, UnaryOperator<String> rename) throws Exception {
        Path out = Files.createDirectories(dir.resolve(name));
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(DEMO.resolve("adapter_config.json").toFile());
        config.accept(c);
        json.writeValue(out.resolve("adapter_config.json").toFile(), c);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(DEMO.resolve("adapter_model.safetensors"))) {
            for (String n : f.names()) {
                TensorInfo i = f.info(n);
                w.add(rename.apply(n), i.dtype(), i.shape(), f.readDoubles(n));
            }
        }
        w.write(out.resolve("adapter_model.safetensors"));
        return out;
    }

    private CliRunner.Result analyze(Path adapter, String... more) {
        String[] base = {"analyze", "--adapter", adapter.toString(), "--base", BASE, "--out",
            dir.resolve("r-" + adapter.getFileName() + more.length).toString(), "--draws", "2", "--nulls", "gaussian"};
        String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        return CliRunner.run(args);
    }

    @Test
    void fanInFanOutOnAnOrdinaryLinearIsIgnoredAsPeftIgnoresIt() throws Exception {
        CliRunner.Result r = analyze(variant("fifo", c -> c.put("fan_in_fan_out", true), n -> n));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("note: fan_in_fan_out is true in adapter_config.json, but query is an ordinary"
                + " Linear layer"), r.out());
        assertTrue(r.out().contains("query C_A (left, i=8, j=8): average 0.0112"), "W0 not transposed: " + r.out());
    }

    @Test
    void layersToTransformIsHonoured() throws Exception {
        CliRunner.Result r = CliRunner.run("inspect", variant("six", c -> c.putArray("layers_to_transform")
                .add(0).add(1).add(2).add(3).add(4).add(5), n -> n).toString(), "--base", BASE);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("12 adapted weights: query, value in 6 layers"), r.out());
        assertTrue(r.out().contains("layer 7 is not in layers_to_transform [0, 1, 2, 3, 4, 5]"), r.out());
    }

    @Test
    void doraWithoutItsMagnitudesIsRefused() throws Exception {
        CliRunner.Result r = analyze(variant("dora", c -> c.put("use_dora", true), n -> n));
        assertEquals(3, r.exit(), r.err());
        assertTrue(r.err().contains("sets use_dora, but the weights hold no lora_magnitude_vector"), r.err());
    }

    @Test
    void aRobertaAdapterIsNotPairedWithBertWeights() throws Exception {
        Path roberta = variant("roberta", c -> c.put("base_model_name_or_path", "roberta-base"),
                n -> n.replace(".bert.", ".roberta."));
        CliRunner.Result refused = analyze(roberta);
        assertEquals(3, refused.exit(), refused.err());
        assertTrue(refused.err().contains("this base does not match the adapter: the adapter's modules are roberta"
                + " ('roberta.') and the base's are bert ('bert.')"), refused.err());
        assertTrue(refused.err().contains("--allow-base-mismatch"), refused.err());
        CliRunner.Result allowed = analyze(roberta, "--allow-base-mismatch");
        assertEquals(0, allowed.exit(), allowed.err());
        assertTrue(allowed.out().contains("note: module paths matched with the prefix 'roberta.' replaced by 'bert.'"),
                allowed.out());
        assertTrue(allowed.out().contains("note: base mismatch allowed by --allow-base-mismatch"), allowed.out());
        // and the report, which outlives the console, says it before its verdicts
        String md = Files.readString(dir.resolve("r-roberta1/report.md"));
        int mismatch = md.indexOf("- Note: base mismatch allowed by --allow-base-mismatch: the adapter's modules are"
                + " roberta ('roberta.') and the base's are bert ('bert.')");
        assertTrue(mismatch > 0 && mismatch < md.indexOf("## Verdicts"), md);
        // the name alone is evidence too: against the base's keys (bert.encoder...) where no config.json is beside it,
        // for analyze and for every adapter compare takes
        Path named = variant("named", c -> c.put("base_model_name_or_path", "FacebookAI/roberta-base"), n -> n);
        CliRunner.Result byKeys = analyze(named);
        assertEquals(3, byKeys.exit(), byKeys.err());
        assertTrue(byKeys.err().contains(named.resolve("adapter_config.json") + " names the base"
                + " 'FacebookAI/roberta-base' (roberta) but the base is bert (its keys)"), byKeys.err());
        CliRunner.Result compared = CliRunner.run("compare", CliRunner.repo().resolve(
                "data/adapters/bert-base-uncased-imdb-lora-r8").toString(), named.toString(), "--base", BASE, "--out",
                dir.resolve("pair").toString());
        assertEquals(3, compared.exit(), compared.err());
        assertTrue(compared.err().contains(named.resolve("adapter_config.json") + " names the base"), compared.err());
        assertFalse(Files.exists(dir.resolve("pair")));
        Path baseDir = Files.createDirectories(dir.resolve("bert-base"));
        Files.copy(Path.of(BASE), baseDir.resolve("model.safetensors"));
        Files.writeString(baseDir.resolve("config.json"), "{\"model_type\": \"bert\"}");
        CliRunner.Result byName = CliRunner.run("inspect", named.toString(), "--base", baseDir.toString());
        assertEquals(3, byName.exit(), byName.err());
        assertTrue(byName.err().contains("names the base 'FacebookAI/roberta-base' (roberta) but the base is bert"),
                byName.err());
    }

    @Test
    void withoutBaseAUsersAdapterNeverGetsTheDemoBase() throws Exception {
        Path mine = variant("mine", c -> { }, n -> n);
        CliRunner.Result r = CliRunner.run("analyze", "--adapter", mine.toString(), "--out", dir.resolve("x").toString());
        assertEquals(3, r.exit(), r.err());
        assertTrue(r.err().contains("no --base given for " + mine + ": its adapter_config.json names the base"
                + " 'bert-base-uncased', which is neither a local path nor in the Hugging Face hub cache (looked in "),
                r.err());
        assertTrue(r.err().contains("models--bert-base-uncased); pass the base weights with --base"), r.err());
        Path local = variant("local", c -> c.put("base_model_name_or_path", BASE), n -> n);
        CliRunner.Result ok = CliRunner.run("inspect", local.toString());
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.out().contains("(base_model_name_or_path of "), ok.out());
    }

    /** Where the base is not at hand, inspect still shows the adapter's own facts and says what the base would add. */
    @Test
    void inspectShowsAnAdapterWhoseBaseIsNotAtHand() throws Exception {
        Path mine = variant("alone", c -> c.put("base_model_name_or_path", "convsim-tests/no-such-base"), n -> n);
        CliRunner.Result r = CliRunner.run("inspect", mine.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("base    not at hand: its adapter_config.json names the base"
                + " 'convsim-tests/no-such-base', which is neither a local path nor in the Hugging Face hub cache"),
                r.out());
        // the same factors as against the base (ErrorsTest and the demo's table), W0's shape from them
        CliRunner.Result withBase = CliRunner.run("inspect", mine.toString(), "--base", BASE);
        assertEquals(0, withBase.exit(), withBase.err());
        String row = withBase.out().lines().filter(l -> l.startsWith("value            7 ")).findFirst().orElseThrow();
        String alone = r.out().lines().filter(l -> l.startsWith("value            7 ")).findFirst().orElseThrow();
        assertEquals(row.replace("bert.encoder.layer.7.attention.self.value.weight", "-")
                .replaceFirst("\\S+$", "n/a").replaceAll("\\s+", " "), alone.replaceAll("\\s+", " "));
        assertTrue(alone.matches("value +7 +- +768x768 +8 +32 +4 +\\d\\.\\d{4} +\\d\\.\\d{4} +n/a"), alone);
        assertTrue(r.out().contains("24 adapted weights: query, value in 12 layers"), r.out());
        assertTrue(r.out().contains("without the base: W0's shape is the factors' [out, in], and its keys, |dW|/|W0|"
                + " and whether it is the adapter's model are unknown; pass it with --base"), r.out());
        // analyze still needs it
        assertEquals(3, CliRunner.run("analyze", mine.toString(), "--out", dir.resolve("x").toString()).exit());

        // a config that names no base, in a directory whose name has a space: only the reason is shown (a regex
        // trimmed the error's "no --base given for PATH: " prefix, which a space or the other wording kept)
        Path unnamed = variant("no base named", c -> c.remove("base_model_name_or_path"), n -> n);
        CliRunner.Result u = CliRunner.run("inspect", unnamed.toString());
        assertEquals(0, u.exit(), u.err());
        assertTrue(u.out().contains("\nbase    not at hand: its adapter_config.json names no base_model_name_or_path\n"),
                u.out());
        CliRunner.Result refused = CliRunner.run("analyze", unnamed.toString(), "--out", dir.resolve("y").toString());
        assertEquals(3, refused.exit());
        assertTrue(refused.err().startsWith("convsim: no --base given for " + unnamed + ": its adapter_config.json"
                + " names no base_model_name_or_path; pass the base weights with --base"), refused.err());
    }
}
