package io.kvmclock.hv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The one naming of struct kvm_clock_data's flags that state show, probe and the JSON print. */
class ClockDataTest {

    @Test
    void namesTheKvmClockFlagsInBitOrder() {
        assertEquals(List.of(), ClockData.flagNames(0));
        assertEquals(List.of("TSC_STABLE", "REALTIME", "HOST_TSC"), ClockData.flagNames(ClockData.VALID_FLAGS));
        assertEquals(List.of("REALTIME"), ClockData.flagNames(ClockData.REALTIME));
        assertEquals(List.of("TSC_STABLE", "HOST_TSC"), ClockData.flagNames(ClockData.TSC_STABLE | ClockData.HOST_TSC));
    }

    @Test
    void bitsTheAbiDoesNotDefineAreShownInHex() {
        assertEquals(List.of("TSC_STABLE", "unknown 0x11"), ClockData.flagNames(0x13));
        assertEquals(List.of("unknown 0x80000000"), ClockData.flagNames(Integer.MIN_VALUE));
    }
}
