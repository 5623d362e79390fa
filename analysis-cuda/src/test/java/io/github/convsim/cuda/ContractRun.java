package io.github.convsim.cuda;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs the backend contract on the CUDA backend where there is a Java runtime but no Maven: the GPU host of
 * bench/gpu-check.sh, which sets CONVSIM_REQUIRE_GPU=1. Exit 0 only when every contract test ran and passed; a
 * skipped, aborted or failed test, or none found, is exit 1.
 */
public final class ContractRun {
    private ContractRun() {}

    public static void main(String[] args) {
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(CudaBackendContractTest.class), selectClass(CudaBatchTest.class))
                .build(), listener);
        TestExecutionSummary s = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        s.printTo(out);
        s.printFailuresTo(out, 20);
        boolean ok = s.getTestsSucceededCount() > 0 && s.getTotalFailureCount() == 0 && s.getTestsAbortedCount() == 0
                && s.getTestsSkippedCount() == 0 && s.getContainersFailedCount() == 0
                && s.getContainersAbortedCount() == 0;
        out.println(ok ? "contract: " + s.getTestsSucceededCount() + " tests passed on the CUDA backend"
                : "contract: FAILED on the CUDA backend");
        System.exit(ok ? 0 : 1);
    }
}
