package io.github.convsim.condlora;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.CpuBackendTest;
import io.github.convsim.TestData;
import io.github.convsim.api.Analysis;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.ConversionAnalysis;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.ModuleConversion;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.similarity.MultipleTesting;
import io.github.convsim.similarity.Side;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.ejml.dense.row.SpecializedOps_DDRM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CondLoraTest extends CpuBackendTest {
    @TempDir
    Path dir;

    static final int N = 24;
    static final int R = 2;
    static final int LAYERS = 6;

    /** A small BERT-named base of random square W0. */
    Path base(long seed) throws Exception {
        return base(seed, 0);
    }

    /** As {@link #base(long)}, the last {@code zeroColumns} columns of every W0 zero: the stack is rank-deficient. */
    Path base(long seed, int zeroColumns) throws Exception {
        Random rng = new Random(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        for (int l = 0; l < LAYERS; l++) {
            double[] v = TestData.gaussian(rng, N * N);
            for (int i = 0; i < N; i++) {
                java.util.Arrays.fill(v, i * N + N - zeroColumns, i * N + N, 0);
            }
            w.add("bert.encoder.layer." + l + ".attention.self.query.weight", Dtype.F64, new long[] {N, N}, v);
        }
        Path p = dir.resolve("base" + seed + "-" + zeroColumns + ".safetensors");
        w.write(p);
        return p;
    }

    /** A CondLoRA checkpoint in the authors' layout, its shared layers given row-major [r, in]. */
    Path condLora(String name, double[] wa, double[] wb) throws Exception {
        Path a = Files.createDirectories(dir.resolve(name));
        Files.writeString(a.resolve("adapter_config.json"),
                "{\"peft_type\": \"CONDLORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"query\"]}");
        new SafetensorsWriter()
                .add("query.linear_for_lora_A.weight", Dtype.F64, new long[] {R, N}, wa)
                .add("query.linear_for_lora_B.weight", Dtype.F64, new long[] {R, N}, wb)
                .add("classifier.weight", Dtype.F64, new long[] {2, N}, new double[2 * N])
                .write(a.resolve("adapter_model.safetensors"));
        return a;
    }

    /** A PEFT LoRA whose factors are a planted shared map plus noise of relative size {@code noise}. */
    Path plantedLora(Path basePath, Matrix wa, Matrix wb, double noise, long seed) throws Exception {
        Random rng = new Random(seed);
        Path a = Files.createDirectories(dir.resolve("planted" + seed));
        Files.writeString(a.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"query\"]}");
        SafetensorsWriter w = new SafetensorsWriter();
        try (var b = io.github.convsim.io.SafetensorsFile.open(basePath)) {
            for (int l = 0; l < LAYERS; l++) {
                String key = "bert.encoder.layer." + l + ".attention.self.query.weight";
                Matrix w0 = Matrix.fromRowMajor(N, N, b.readDoubles(key));
                Matrix al = perturb(wa.times(w0.transpose()), noise, rng);
                Matrix bl = perturb(w0.times(wb.transpose()), noise, rng);
                String p = "base_model.model.bert.encoder.layer." + l + ".attention.self.query";
                w.add(p + ".lora_A.weight", Dtype.F64, new long[] {R, N}, al.transpose().data());
                w.add(p + ".lora_B.weight", Dtype.F64, new long[] {N, R}, bl.transpose().data());
            }
        }
        w.write(a.resolve("adapter_model.safetensors"));
        return a;
    }

    static Matrix perturb(Matrix m, double noise, Random rng) {
        Matrix g = new Matrix(m.rows(), m.cols(), TestData.gaussian(rng, m.rows() * m.cols()));
        g = g.scale(noise * m.frobeniusNorm() / g.frobeniusNorm());
        double[] d = m.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] += g.data()[i];
        }
        return new Matrix(m.rows(), m.cols(), d);
    }

    @Test
    void materialisedCondLoraHasTheSharedLayersAsConversionMatrices() throws Exception {
        Random rng = new Random(1);
        double[] wa = TestData.gaussian(rng, R * N);
        double[] wb = TestData.gaussian(rng, R * N);
        Path basePath = base(2);
        try (LoraCheckpoint c = LoraCheckpoint.open(condLora("cond", wa, wb), basePath)) {
            assertTrue(c.condLora().isPresent());
            assertEquals(LAYERS, c.modules().size());
            assertEquals("classifier.weight", c.skipped().get(0).name());
            List<Matrix> w0s = new ArrayList<>();
            for (LoraModule m : c.modules()) {
                w0s.add(c.baseWeight(m));
            }
            ModuleConversion conv = ConversionAnalysis.convert(new ConversionSolver(backend, SolveOptions.paper()),
                    c.modules(), w0s);
            Matrix waT = Matrix.fromRowMajor(R, N, wa).transpose();
            Matrix wbT = Matrix.fromRowMajor(R, N, wb).transpose();
            for (int l = 0; l < LAYERS; l++) {
                assertTrue(ConversionSolver.relativeDifference(conv.cA().get(l), waT) < 1e-11, "C_A = Wa^T, layer " + l);
                assertTrue(ConversionSolver.relativeDifference(conv.cB().get(l), wbT) < 1e-11, "C_B = Wb^T, layer " + l);
            }
            // every layer's conversion matrices are the same: phi = 1 everywhere
            Backends.Choice cpu = Backends.checked(backend, "test");
            AnalysisResult r = Analysis.run(c, AnalysisOptions.defaults(), cpu, ProgressListener.NONE);
            assertEquals(1.0, r.module("query").heatmap("C_A", Side.LEFT).orElseThrow().average(), 1e-10);
            // fitting the materialised factors recovers the shared layers with R^2 = 1
            ModuleFit fit = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 4, 7)).get(0);
            assertEquals(1.0, fit.r2A(), 1e-12);
            assertEquals(1.0, fit.r2B(), 1e-12);
            assertEquals(0.0, fit.dwError(), 1e-6);
            assertTrue(ConversionSolver.relativeDifference(fit.wa(), Matrix.fromRowMajor(R, N, wa)) < 1e-10);
        }
    }

    /**
     * A CondLoRA checkpoint's factors are made from the base it is given, so a base of another family than its config
     * names is refused as a LoRA's is (a BERT base of the right size would otherwise make factors silently), and every
     * report on one says first that phi = 1 is built in.
     */
    @Test
    void aCondLoraCheckpointIsCheckedAgainstItsBaseAndSaysPhiIsBuiltIn() throws Exception {
        Random rng = new Random(12);
        Path cond = condLora("cond-roberta", TestData.gaussian(rng, R * N), TestData.gaussian(rng, R * N));
        Path config = cond.resolve("adapter_config.json");
        Files.writeString(config, Files.readString(config).replace("{", "{\"base_model_name_or_path\": \"roberta-base\", "));
        Path basePath = base(13);
        CheckpointException refused = assertThrows(CheckpointException.class, () -> LoraCheckpoint.open(cond, basePath));
        assertEquals(basePath + ": this base does not match the adapter: " + config + " names the base 'roberta-base'"
                + " (roberta) but the base is bert (its keys); pass the base it was trained on, or --allow-base-mismatch"
                + " to analyse it anyway", refused.getMessage());
        try (LoraCheckpoint c = LoraCheckpoint.open(cond, basePath, io.github.convsim.model.BaseMatch.BaseCheck.ALLOW_MISMATCH)) {
            assertEquals(2, c.notes().size(), c.notes().toString());
            assertTrue(c.notes().get(0).startsWith("a CondLoRA checkpoint: every layer's factors are made from one"
                    + " shared layer per module"), c.notes().get(0));
            assertTrue(c.notes().get(1).startsWith("base mismatch allowed by --allow-base-mismatch: " + config
                    + " names the base 'roberta-base'"), c.notes().get(1));
        }
        Files.writeString(config, Files.readString(config).replace("roberta-base", "bert-base-uncased"));
        try (LoraCheckpoint c = LoraCheckpoint.open(cond, basePath)) {
            assertEquals(List.of(c.notes().get(0), "the base is bert (its keys), as the adapter's base_model_name_or_path"
                    + " 'bert-base-uncased' says"), c.notes());
        }
    }

    @Test
    void aPlantedSharedMapIsRecoveredWithTheExpectedR2() throws Exception {
        Random rng = new Random(3);
        Matrix wa = new Matrix(R, N, TestData.gaussian(rng, R * N));
        Matrix wb = new Matrix(R, N, TestData.gaussian(rng, R * N));
        Path basePath = base(4);
        double noise = 0.3;
        try (LoraCheckpoint c = LoraCheckpoint.open(plantedLora(basePath, wa, wb, noise, 5), basePath)) {
            ModuleFit fit = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 16, 11)).get(0);
            // targets = signal + noise with ||noise|| = 0.3 ||signal||: the least-squares fit keeps the signal and
            // the part of the noise in the fitted subspace (1/L of it), so R^2 ~ 1 - (1 - 1/L) 0.09 / 1.09
            double expected = 1 - (1 - 1.0 / LAYERS) * noise * noise / (1 + noise * noise);
            assertEquals(expected, fit.r2A(), 0.03);
            assertEquals(expected, fit.r2B(), 0.03);
            assertTrue(ConversionSolver.relativeDifference(fit.wa(), wa) < 0.2, "Wa recovered");
            // nulls: unrelated targets reach about 1/L, far below the planted fit
            assertEquals(1.0 / LAYERS, R2Null.mean(fit.gaussian().r2A()), 0.05);
            assertTrue(R2Null.hi(fit.shuffled().r2A()) < 0.6, "shuffled layers: " + R2Null.hi(fit.shuffled().r2A()));
            assertEquals(1.0 / LAYERS, fit.chanceR2(), 0.0);
        }
    }

    @ParameterizedTest(name = "{0} zero columns in every W0")
    @ValueSource(ints = {0, 4})
    void theStreamedFitEqualsTheStackedPseudoInverseSolutionWhateverTheGrouping(int zeroColumns) throws Exception {
        Random rng = new Random(21);
        Matrix wa = new Matrix(R, N, TestData.gaussian(rng, R * N));
        Matrix wb = new Matrix(R, N, TestData.gaussian(rng, R * N));
        Path basePath = base(6, zeroColumns);
        try (LoraCheckpoint c = LoraCheckpoint.open(plantedLora(basePath, wa, wb, 0.7, 8 + zeroColumns), basePath)) {
            List<LoraModule> layers = c.layersOf("query");
            // the reference: S = [W0_1; ...; W0_L] formed, Wa^T = pinv(S) [A_1^T; ...] by EJML's SVD (the minimum-norm
            // least-squares solution, also when the stack is rank-deficient)
            DMatrixRMaj s = new DMatrixRMaj(LAYERS * N, N);
            DMatrixRMaj t = new DMatrixRMaj(LAYERS * N, R);
            for (int l = 0; l < LAYERS; l++) {
                Matrix w0 = c.baseWeight(layers.get(l));
                Matrix at = layers.get(l).a().transpose();
                for (int i = 0; i < N; i++) {
                    for (int j = 0; j < N; j++) {
                        s.set(l * N + i, j, w0.get(i, j));
                    }
                    for (int j = 0; j < R; j++) {
                        t.set(l * N + i, j, at.get(i, j));
                    }
                }
            }
            DMatrixRMaj pinv = new DMatrixRMaj(N, LAYERS * N);
            CommonOps_DDRM.pinv(s, pinv);
            DMatrixRMaj waT = new DMatrixRMaj(N, R);
            CommonOps_DDRM.mult(pinv, t, waT);
            DMatrixRMaj fitted = new DMatrixRMaj(LAYERS * N, R);
            CommonOps_DDRM.mult(s, waT, fitted);
            double r2 = 1 - Math.pow(SpecializedOps_DDRM.diffNormF(fitted, t), 2) / Math.pow(NormOps_DDRM.normF(t), 2);
            CondLoraSettings settings = new CondLoraSettings(0, 4, 5);
            ModuleFit whole = CondLoraFit.fit(c, backend, settings, 64L << 30, ProgressListener.NONE).get(0);
            ModuleFit oneByOne = CondLoraFit.fit(c, backend, settings, 1, ProgressListener.NONE).get(0);
            for (ModuleFit f : List.of(whole, oneByOne)) {
                Matrix got = f.wa().transpose();
                for (int i = 0; i < N; i++) {
                    for (int j = 0; j < R; j++) {
                        assertEquals(waT.get(i, j), got.get(i, j), 1e-10 * NormOps_DDRM.normF(waT));
                    }
                }
                assertEquals(r2, f.r2A(), 1e-12);
            }
            assertArrayEquals(whole.gaussian().r2A(), oneByOne.gaussian().r2A(), 1e-12);
            assertArrayEquals(whole.shuffled().dwError(), oneByOne.shuffled().dwError(), 1e-12);
            assertEquals(whole.perLayer().get(3).r2A(), oneByOne.perLayer().get(3).r2A(), 1e-12);
        }
    }

    /** A PEFT LoRA whose factors are plant {@code k} of {@link SharedLayerPlants} at noise {@code eps}. */
    Path plantAsAdapter(Path basePath, long seed, int k, double eps) throws Exception {
        Path a = Files.createDirectories(dir.resolve("plant" + k + "-" + eps));
        Files.writeString(a.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"query\"]}");
        SafetensorsWriter w = new SafetensorsWriter();
        try (var b = io.github.convsim.io.SafetensorsFile.open(basePath)) {
            for (int l = 0; l < LAYERS; l++) {
                Matrix w0 = Matrix.fromRowMajor(N, N, b.readDoubles("bert.encoder.layer." + l
                        + ".attention.self.query.weight"));
                Matrix[] t = SharedLayerPlants.targets(w0, seed, "query", l, R, k, eps);
                String p = "base_model.model.bert.encoder.layer." + l + ".attention.self.query";
                // A^T column-major is A row-major
                w.add(p + ".lora_A.weight", Dtype.F64, new long[] {R, N}, t[0].data());
                w.add(p + ".lora_B.weight", Dtype.F64, new long[] {N, R}, t[1].transpose().data());
            }
        }
        w.write(a.resolve("adapter_model.safetensors"));
        return a;
    }

    /**
     * The plants are fitted once, their shared part and noise apart, and every noise level follows from sums of the two
     * (the fit is linear in its targets). Read as an adapter, plant k at one noise level must fit exactly as the
     * plants say: by LU, with ridge, and by the pseudo-inverse of a rank-deficient stack.
     */
    @ParameterizedTest(name = "ridge {0}, {1} zero columns in every W0")
    @org.junit.jupiter.params.provider.CsvSource({"0, 0", "0.5, 0", "0, 4"})
    void eachPlantFitsAsTheAdapterItMakes(double ridge, int zeroColumns) throws Exception {
        Path basePath = base(30, zeroColumns);
        long seed = 77;
        for (int[] at : new int[][] {{3, 9}, {6, 0}, {0, 15}}) {
            int k = at[0];
            int e = at[1];
            double eps = SharedLayerPlants.NOISE[e];
            try (LoraCheckpoint c = LoraCheckpoint.open(plantAsAdapter(basePath, seed, k, eps), basePath)) {
                ModuleFit f = CondLoraFit.fit(c, backend, new CondLoraSettings(ridge, 2, seed)).get(0);
                SharedLayerPlants plants = f.plants();
                assertEquals(f.r2A(), plants.r2A()[e][k], 1e-11, "R^2 of A, plant " + k + " at noise " + eps);
                assertEquals(f.r2B(), plants.r2B()[e][k], 1e-11, "R^2 of B, plant " + k + " at noise " + eps);
                assertEquals(f.dwError(), plants.dwError()[e][k], 1e-9 * Math.max(1, f.dwError()),
                        "dW error, plant " + k + " at noise " + eps);
            }
        }
    }

    /** More noise, less fit: each plant's R^2 falls from about 1 towards what unrelated targets give. */
    @Test
    void plantsFitLessAsTheirNoiseGrows() throws Exception {
        Random rng = new Random(3);
        Path basePath = base(31);
        try (LoraCheckpoint c = LoraCheckpoint.open(plantedLora(basePath, new Matrix(R, N, TestData.gaussian(rng,
                R * N)), new Matrix(R, N, TestData.gaussian(rng, R * N)), 0.3, 9), basePath)) {
            ModuleFit withPower = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 4, 12)).get(0);
            SharedLayerPlants p = withPower.plants();
            // without plants (an export) the fit and its nulls are the same, to the last bit
            ModuleFit without = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 4, 12).withPower(false)).get(0);
            assertNull(without.plants());
            assertEquals(withPower.r2A(), without.r2A(), 0);
            assertEquals(withPower.dwError(), without.dwError(), 0);
            assertArrayEquals(withPower.shuffled().r2B(), without.shuffled().r2B(), 0);
            int last = SharedLayerPlants.NOISE.length - 1;
            for (int k = 0; k < SharedLayerPlants.REPETITIONS; k++) {
                assertEquals(1, p.r2A()[0][k], 1e-3);
                assertEquals(0, p.dwError()[0][k], 0.05);
                // beyond a noise of a few times the shared part, R^2 approaches the noise's own fit from either side
                for (int e = 1; SharedLayerPlants.NOISE[e] <= 5; e++) {
                    assertTrue(p.r2A()[e][k] < p.r2A()[e - 1][k] + 1e-3, "plant " + k + " at noise index " + e);
                    assertTrue(p.r2B()[e][k] < p.r2B()[e - 1][k] + 1e-3, "plant " + k + " at noise index " + e);
                }
                // at noise 50 the shared part is 1/2501 of the target: what is left is what any targets give, ~1/L
                assertEquals(1.0 / LAYERS, p.r2A()[last][k], 0.08);
                assertTrue(p.dwError()[last][k] > 0.8, "dW error at noise 50: " + p.dwError()[last][k]);
            }
        }
    }

    /**
     * Grouped-query attention: k_proj and v_proj of the synthetic tiny LLaMA have a 16x64 W0, so A_l = Wa W0_l^T has no
     * fit; B_l = W0_l Wb^T has one, the stacked least squares of B alone, tested as B of a square module is. An export,
     * which needs every A, refuses them; with 4 layers (64 stacked rows for 64 unknowns) B fits anything and has no
     * test.
     */
    @Test
    void nonSquareModulesAreFittedInBAlone() throws Exception {
        var options = new io.github.convsim.synth.SyntheticCheckpoint.Options(5, 4, 8,
                io.github.convsim.synth.SyntheticCheckpoint.Options.ATTENTION, 1 << 30, 2);
        var twelve = io.github.convsim.synth.SyntheticCheckpoint.write(io.github.convsim.synth.ModelShape.TINY
                .withLayers(12), options, Files.createDirectories(dir.resolve("gqa")), ProgressListener.NONE);
        try (LoraCheckpoint c = LoraCheckpoint.open(twelve.adapter(), twelve.base())) {
            assertTrue(CondLoraFit.unfittable(c).isEmpty(), CondLoraFit.unfittable(c).toString());
            List<ModuleFit> fits = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 4, 1));
            assertEquals(List.of("k_proj", "o_proj", "q_proj", "v_proj"), fits.stream().map(ModuleFit::module).sorted()
                    .toList());
            ModuleFit k = fits.stream().filter(f -> f.module().equals("k_proj")).findFirst().orElseThrow();
            assertTrue(k.aNotFitted().startsWith("W0 is 16x64 at layer 0"), k.aNotFitted());
            assertNull(k.wa());
            assertTrue(Double.isNaN(k.r2A()) && Double.isNaN(k.dwError()));
            assertEquals(64.0 / (12 * 16), k.chanceR2(), 1e-15, "in / (L out) for random targets");
            assertFalse(k.fitsAnyTargets());
            // Wb^T = (sum W0^T W0)^-1 sum W0^T B, by hand (EJML)
            DMatrixRMaj gram = new DMatrixRMaj(64, 64);
            DMatrixRMaj rhs = new DMatrixRMaj(64, 4);
            List<DMatrixRMaj[]> pairs = new ArrayList<>();
            for (LoraModule m : c.layersOf("k_proj")) {
                DMatrixRMaj w0 = ejml(c.baseWeight(m));
                DMatrixRMaj b = ejml(m.b());
                CommonOps_DDRM.multAddTransA(w0, w0, gram);
                CommonOps_DDRM.multAddTransA(w0, b, rhs);
                pairs.add(new DMatrixRMaj[] {w0, b});
            }
            DMatrixRMaj x = new DMatrixRMaj(64, 4);
            assertTrue(CommonOps_DDRM.solve(gram, rhs, x));
            double res = 0;
            double tot = 0;
            for (DMatrixRMaj[] p : pairs) {
                DMatrixRMaj fitted = new DMatrixRMaj(16, 4);
                CommonOps_DDRM.mult(p[0], x, fitted);
                res += Math.pow(SpecializedOps_DDRM.diffNormF(fitted, p[1]), 2);
                tot += Math.pow(NormOps_DDRM.normF(p[1]), 2);
            }
            assertEquals(1 - res / tot, k.r2B(), 1e-9);
            assertTrue(ConversionSolver.relativeDifference(k.wb(), Matrix.fromRowMajor(4, 64,
                    CommonOps_DDRM.transpose(x, null).data)) < 1e-8);
            // B is in the family; A and dW are not
            var tests = io.github.convsim.report.CondLoraVerdicts.judge(fits, MultipleTesting.Correction.HOLM);
            assertEquals(2 * 3 + 2, tests.get(0).familySize(), "q and o: A, B, dW; k and v: B");
            // an export needs every A: refused before and after fitting, nothing written
            IllegalArgumentException before = assertThrows(IllegalArgumentException.class,
                    () -> CondLoraExport.requireExportable(c, false));
            assertTrue(before.getMessage().contains("cannot be fitted: k_proj (W0 is 16x64 at layer 0"),
                    before.getMessage());
            Path export = dir.resolve("gqa-export");
            IllegalArgumentException after = assertThrows(IllegalArgumentException.class,
                    () -> CondLoraExport.writeLora(export, c, fits));
            assertTrue(after.getMessage().contains("k_proj, v_proj have no fit of A"), after.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> CondLoraExport.writeCondLora(export, c.config(), c.adapterWeights(), fits));
            assertFalse(Files.exists(export));
        }
        var four = io.github.convsim.synth.SyntheticCheckpoint.write(io.github.convsim.synth.ModelShape.TINY, options,
                Files.createDirectories(dir.resolve("gqa4")), ProgressListener.NONE);
        try (LoraCheckpoint c = LoraCheckpoint.open(four.adapter(), four.base())) {
            ModuleFit v = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 2, 1)).stream()
                    .filter(f -> f.module().equals("v_proj")).findFirst().orElseThrow();
            assertTrue(v.fitsAnyTargets());
            assertEquals(1.0, v.r2B(), 1e-9);
            assertTrue(io.github.convsim.report.CondLoraReport.verdict(v).contains("It fits any targets exactly: its 4"
                    + " stacked W0 have 64 rows, no more than the 64 unknowns"), io.github.convsim.report.CondLoraReport
                    .verdict(v));
        }
    }

    /**
     * GPT-2's c_attn fuses q, k and v under one LoRA, and the fit takes each projection on its own. The CondLoRA layout
     * (one shared layer per target module) cannot hold three and refuses, naming them. The LoRA export writes one LoRA
     * of rank 3r on c_attn (A stacked, B block-diagonal, alpha scaled by 3), which reads back as each projection's own
     * update: scaling B A of the read-back slice equals the fit's, W0 Wb^T Wa W0^T at the source's scaling.
     */
    @Test
    void fusedProjectionsAreExportedAsOneLoraOfTheirSummedRank() throws Exception {
        Path base = TestData.gpt2RandomBase(dir, 4);
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.gpt2Adapter(), base)) {
            List<ModuleFit> fits = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 2, 1).withPower(false));
            assertEquals(List.of("c_attn.k", "c_attn.q", "c_attn.v"), fits.stream().map(ModuleFit::module).sorted()
                    .toList());
            Path asCond = dir.resolve("gpt2-condlora");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> CondLoraExport.writeCondLora(asCond, c.config(), c.adapterWeights(), fits));
            assertTrue(e.getMessage().startsWith("the CondLoRA layout cannot hold fused projections: c_attn."),
                    e.getMessage());
            assertTrue(e.getMessage().contains("share one LoRA on transformer.h.0.attn.c_attn"), e.getMessage());
            assertFalse(Files.exists(asCond));
            assertThrows(IllegalArgumentException.class, () -> CondLoraExport.requireExportable(c, true));
            CondLoraExport.requireExportable(c, false);

            Path asLora = dir.resolve("gpt2-lora");
            CondLoraExport.writeLora(asLora, c, fits);
            var config = new com.fasterxml.jackson.databind.ObjectMapper().readTree(asLora.resolve("adapter_config.json")
                    .toFile());
            assertEquals("[\"c_attn\"]", config.get("target_modules").toString());
            assertEquals(24, config.get("rank_pattern").get("c_attn").asInt());
            assertEquals(48.0, config.get("alpha_pattern").get("c_attn").asDouble(), 0);
            assertTrue(config.get("fan_in_fan_out").asBoolean(), "GPT-2's Conv1D");
            try (LoraCheckpoint back = LoraCheckpoint.open(asLora, base)) {
                assertEquals(c.modules().size(), back.modules().size());
                for (LoraModule m : c.modules()) {
                    ModuleFit f = fits.stream().filter(x -> x.module().equals(m.module())).findFirst().orElseThrow();
                    LoraModule e2 = back.modules().stream().filter(x -> x.module().equals(m.module())
                            && x.layer() == m.layer()).findFirst().orElseThrow();
                    assertEquals(24, e2.rank());
                    Matrix w0 = c.baseWeight(m);
                    Matrix fitted = w0.times(f.wb().transpose()).times(f.wa().times(w0.transpose()))
                            .scale(m.scaling());
                    Matrix exported = e2.b().times(e2.a()).scale(e2.scaling());
                    assertTrue(ConversionSolver.relativeDifference(exported, fitted) < 1e-5, m.module() + " layer "
                            + m.layer() + ": " + ConversionSolver.relativeDifference(exported, fitted));
                }
            }
        }
    }

    @Test
    void exportsRoundTripBothWays() throws Exception {
        Random rng = new Random(6);
        Matrix wa = new Matrix(R, N, TestData.gaussian(rng, R * N));
        Matrix wb = new Matrix(R, N, TestData.gaussian(rng, R * N));
        Path basePath = base(8);
        try (LoraCheckpoint c = LoraCheckpoint.open(plantedLora(basePath, wa, wb, 0.2, 9), basePath)) {
            List<ModuleFit> fits = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 4, 1));
            Path asCond = dir.resolve("export-condlora");
            Path asLora = dir.resolve("export-lora");
            CondLoraExport.writeCondLora(asCond, c.config(), c.adapterWeights(), fits);
            CondLoraExport.writeLora(asLora, c, fits);
            try (LoraCheckpoint back = LoraCheckpoint.open(asCond, basePath);
                 LoraCheckpoint lora = LoraCheckpoint.open(asLora, basePath)) {
                assertTrue(back.condLora().isPresent());
                assertFalse(lora.condLora().isPresent());
                for (int l = 0; l < LAYERS; l++) {
                    LoraModule a = back.modules().get(l);
                    LoraModule b = lora.modules().get(l);
                    // the same dW = B A from both exports, to float rounding
                    double[] res = CondLoraFit.productResidual(b.b(), b.a(), a.b(), a.a());
                    assertTrue(Math.sqrt(res[0] / res[1]) < 1e-6, "layer " + l + ": " + Math.sqrt(res[0] / res[1]));
                    assertEquals(c.modules().get(l).scaling(), b.scaling());
                }
                // the exported CondLoRA refits to itself
                ModuleFit refit = CondLoraFit.fit(back, backend, new CondLoraSettings(0, 4, 1)).get(0);
                assertEquals(1.0, refit.r2A(), 1e-9);
            }
        }
    }

    /**
     * An adapter whose value module has rank 4 and alpha 4 by rank_pattern and alpha_pattern (query keeps r = 8, alpha 32): both
     * exports keep each module's rank and scaling. The LoRA export wrote r = 8 with the patterns cleared, a config its
     * own rank-4 tensors contradicted (unreadable) and value's scale changed by 4.
     */
    @Test
    void exportsKeepEachModulesRankAndScaling() throws Exception {
        Path source = TestData.cutCopy(dir.resolve("value-r4"), ".*\\.attention\\.self\\.value", 4, false);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(source.resolve("adapter_config.json")
                .toFile());
        config.putObject("alpha_pattern").put("value", 4);
        json.writeValue(source.resolve("adapter_config.json").toFile(), config);
        try (LoraCheckpoint c = LoraCheckpoint.open(source, TestData.bertBase())) {
            List<ModuleFit> fits = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 2, 1).withPower(false));
            Path asLora = dir.resolve("value-r4-lora");
            Path asCond = dir.resolve("value-r4-condlora");
            CondLoraExport.writeLora(asLora, c, fits);
            CondLoraExport.writeCondLora(asCond, c.config(), c.adapterWeights(), fits);
            for (Path export : List.of(asLora, asCond)) {
                try (LoraCheckpoint back = LoraCheckpoint.open(export, TestData.bertBase())) {
                    for (LoraModule m : c.modules()) {
                        LoraModule e = back.modules().stream().filter(x -> x.modulePath().equals(m.modulePath()))
                                .findFirst().orElseThrow();
                        assertEquals(m.rank(), e.rank(), export + " " + m.modulePath());
                        assertEquals(m.scaling(), e.scaling(), 0, export + " " + m.modulePath());
                    }
                    assertEquals(1.0, back.layersOf("value").get(0).scaling(), 0, "alpha 4 over r 4");
                    assertEquals(4.0, back.layersOf("query").get(0).scaling(), 0, "alpha 32 over r 8");
                }
            }
        }
    }

    @Test
    void theInputConditionedVariantIsRefused() throws Exception {
        Path a = Files.createDirectories(dir.resolve("x"));
        Files.writeString(a.resolve("adapter_config.json"), "{\"r\": 2, \"target_modules\": [\"query\"]}");
        new SafetensorsWriter().add("query.linear_for_lora_x.weight", Dtype.F32, new long[] {2, N}, new double[2 * N])
                .write(a.resolve("adapter_model.safetensors"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> LoraCheckpoint.open(a, base(10)));
        assertTrue(e.getMessage().contains("input-conditioned"), e.getMessage());
    }

    @Test
    void theBundledDemoIsNoBetterThanItsNulls() throws Exception {
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
            List<ModuleFit> fits = CondLoraFit.fit(c, backend, new CondLoraSettings(0, 8, 3));
            for (ModuleFit f : fits) {
                // one shared map explains about 1/12 of any 12 layers' factors; the real adapter is no exception
                assertEquals(1.0 / 12, f.r2A(), 0.03, f.module());
                assertTrue(f.r2A() < R2Null.hi(f.shuffled().r2A()) + 0.02, f.module() + " A vs shuffled null");
                assertEquals(1.0 / 12, R2Null.mean(f.gaussian().r2A()), 0.02);
            }
        }
    }
}
