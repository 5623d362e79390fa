package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which command lines start the CPU backend's check before they are parsed. */
class CpuCheckAheadTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "analyze                                     | true",
        "analyse adapter --out report                | true",
        "--debug analyze --backend cpu               | true",
        "analyze --backend=auto                      | true",
        "compare a b --out c                         | true",
        "condlora fit adapter --out x                | true",
        "condlora export adapter --out x             | true",
        "plant --out x                               | true",
        "analyze --backend cuda                      | false",
        "analyze --backend=perturbed-lu              | false",
        "condlora fit adapter --backend cuda         | false",
        "analyze --help                              | false",
        "compare -h                                  | false",
        "--version                                   | false",
        "inspect adapter                             | false",
        "synth --shape llama-2-7b --out x            | false",
        "bench                                       | false",
        "condlora                                    | false",
        "help analyze                                | false",
        "''                                          | false"})
    void startsOnlyForCommandsThatSelectTheCpu(String line, boolean expected) {
        List<String> args = line.isBlank() ? List.of() : List.of(line.trim().split("\\s+"));
        assertEquals(expected, CpuCheckAhead.needsCpu(args), line);
    }
}
