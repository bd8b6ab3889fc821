package io.kvmclock.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({"40h,144000", "1250s,1250", "90m,5400", "2d,172800", "1h30m,5400", "2d4h,187200", "0s,0",
            "1d1h1m1s,90061", " 20s ,20", "40H,144000", "30m1h,5400", "2000ms,2", "1m1000ms,61"})
    void parsesUnitsAndCombinations(String text, long seconds) {
        assertEquals(seconds, Durations.parseSeconds(text));
        assertEquals(seconds * 1_000_000_000L, Durations.parseNs(text));
    }

    @ParameterizedTest
    @CsvSource({"50ms,50000000", "7ns,7", "5us,5000", "1s500ms,1500000000", "1m5ms,60005000000", "0ms,0",
            "1ms1us1ns,1001001", "1_000us,1000000", "106751d,9223286400000000000"})
    void parsesSubSecondUnits(String text, long ns) {
        assertEquals(ns, Durations.parseNs(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "40", "h", "40x", "1.5h", "-5s", "1h 30m", "1h1h", "5ms5ms", "forty",
            "99999999999999999999s", "106751991167301d", "106752d", "1.5s", "ms", "5 ms"})
    void refusesGarbageWithAReason(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parseNs(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"1500ms", "1s1ns", "999ms", "1us"})
    void secondsOptionsRefuseFractionsOfASecond(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parseSeconds(text));
        assertTrue(e.getMessage().contains("'" + text + "'") && e.getMessage().contains("whole number of seconds"),
                e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"144000,40h", "5400,1h30m", "0,0s", "1250,20m50s", "1209600,14d"})
    void formatsRoundTrip(long seconds, String text) {
        assertEquals(text, Durations.format(seconds));
        assertEquals(seconds, Durations.parseSeconds(text));
    }

    @ParameterizedTest
    @CsvSource({"1500000000,1s500ms", "200000,200us", "5400000000000,1h30m", "1,1ns", "0,0s", "3600000000001,1h1ns",
            "1001001,1ms1us1ns"})
    void formatsNanosecondsExactly(long ns, String text) {
        assertEquals(text, Durations.formatExactNs(ns));
        assertEquals(ns, Durations.parseNs(text));
    }
}
