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
            "1d1h1m1s,90061", " 20s ,20", "40H,144000"})
    void parsesUnitsAndCombinations(String text, long seconds) {
        assertEquals(seconds, Durations.parseSeconds(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "40", "h", "40x", "1.5h", "-5s", "1h 30m", "1h1h", "forty", "99999999999999999999s",
            "106751991167301d"})
    void refusesGarbageWithAReason(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parseSeconds(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"144000,40h", "5400,1h30m", "0,0s", "1250,20m50s", "1209600,14d"})
    void formatsRoundTrip(long seconds, String text) {
        assertEquals(text, Durations.format(seconds));
        assertEquals(seconds, Durations.parseSeconds(text));
    }
}
