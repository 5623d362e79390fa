package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.TensorInfo;
import io.github.convsim.io.WeightSource;
import io.github.convsim.linalg.Matrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shared linear layers of a CondLoRA checkpoint in the authors' format: per target module name one {@code
 * nn.Linear(in, r, bias=False)} producing A and one producing B, stored as {@code <module>.linear_for_lora_A[.adapter]
 * .weight} [r, in] (with any prefix; repeated per layer when the module was registered in every layer). A_l = Wa
 * W0_l^T and B_l = W0_l Wb^T.
 */
public record CondLoraWeights(Map<String, Matrix> wa, Map<String, Matrix> wb, List<SkippedTensor> skipped) {
    private static final Pattern KEY = Pattern.compile("^(.*?)([^.]+)\\.linear_for_lora_([ABx])(?:\\.([^.]+))?(?:\\.weight)?$");

    /** Whether the adapter's tensors are CondLoRA's shared layers rather than per-layer LoRA factors. */
    public static boolean isCondLora(WeightSource adapter) {
        return adapter.names().stream().anyMatch(n -> n.contains(".linear_for_lora_") || n.startsWith("linear_for_lora_"));
    }

    /** Reads Wa and Wb per module name; refuses the input-conditioned variant; lists everything else as skipped. */
    public static CondLoraWeights read(WeightSource adapter) throws CheckpointException {
        Map<String, Matrix> wa = new LinkedHashMap<>();
        Map<String, Matrix> wb = new LinkedHashMap<>();
        List<SkippedTensor> skipped = new ArrayList<>();
        for (String key : adapter.names()) {
            Matcher m = KEY.matcher(key);
            if (!m.matches()) {
                skipped.add(new SkippedTensor(key, "not a CondLoRA shared layer (e.g. the classifier): listed, not"
                        + " analysed"));
                continue;
            }
            String module = m.group(2);
            if (m.group(3).equals("x")) {
                throw new CheckpointException(adapter.location(), "tensor '" + key + "' is linear_for_lora_x: the"
                        + " input-conditioned CondLoRA variant is not analysed (its A and B depend on the input)");
            }
            TensorInfo info = adapter.info(key);
            if (info.rank() != 2) {
                throw new CheckpointException(adapter.location(), "tensor '" + key + "' is " + info.shapeString()
                        + ", not a [r, in] weight");
            }
            Matrix w = Matrix.fromRowMajor((int) info.dim(0), (int) info.dim(1), adapter.readDoubles(key));
            Map<String, Matrix> target = m.group(3).equals("A") ? wa : wb;
            Matrix before = target.putIfAbsent(module, w);
            if (before != null && !Arrays.equals(before.data(), w.data())) {
                throw new CheckpointException(adapter.location(), "module '" + module + "' has different "
                        + "linear_for_lora_" + m.group(3) + " weights in different layers ('" + key + "'): not a"
                        + " shared CondLoRA layer");
            }
        }
        for (String module : wa.keySet()) {
            if (!wb.containsKey(module)) {
                throw new CheckpointException(adapter.location(), "module '" + module
                        + "' has linear_for_lora_A but no linear_for_lora_B");
            }
            if (wa.get(module).rows() != wb.get(module).rows() || wa.get(module).cols() != wb.get(module).cols()) {
                throw new CheckpointException(adapter.location(), "module '" + module + "': linear_for_lora_A is "
                        + wa.get(module).shapeString() + " but linear_for_lora_B is " + wb.get(module).shapeString());
            }
        }
        for (String module : wb.keySet()) {
            if (!wa.containsKey(module)) {
                throw new CheckpointException(adapter.location(), "module '" + module
                        + "' has linear_for_lora_B but no linear_for_lora_A");
            }
        }
        return new CondLoraWeights(wa, wb, skipped);
    }
}
