package io.github.convsim.results;

import io.github.convsim.io.CheckpointException;
import java.util.List;

/**
 * The input files a report read, as a rerun checks them ({@link ReportedRun}, {@link ReportedComparison},
 * {@link ReportedFit}).
 */
public interface RecordedInputs {
    /** Every file the report read, with its role, size and sha256, in the order read. */
    List<Provenance.InputFile> inputs();

    /**
     * Checks that every input file the report read is still there with the same size and sha256.
     *
     * @throws CheckpointException naming the first file that is missing or changed
     */
    default void verifyInputs() throws CheckpointException {
        RecordedSummary.verify(inputs());
    }

    /**
     * Checks that the inputs given at other places are the files the report read: in the same order, the same roles,
     * sizes and sha256 (a report rerun on another machine, or after its inputs moved).
     *
     * @param actual the inputs as {@link Provenance#inputsOf} lists them at the new places
     * @throws CheckpointException naming the first file that is not the one the report read in its place
     */
    default void verifyMovedInputs(List<Provenance.InputFile> actual) throws CheckpointException {
        RecordedSummary.verifyMoved(inputs(), actual);
    }
}
