package io.kvmclock.time;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The one naming of pvclock_vcpu_time_info's flags that state show and pvclock print. */
class PvclockFlagNamesTest {

    @Test
    void namesTheDefinedBitsThenTheRestInHex() {
        assertEquals(List.of(), PvclockTimeInfo.flagNames(0));
        assertEquals(List.of("TSC_STABLE"), PvclockTimeInfo.flagNames(PvclockTimeInfo.FLAG_TSC_STABLE));
        assertEquals(List.of("GUEST_STOPPED"), PvclockTimeInfo.flagNames(PvclockTimeInfo.FLAG_GUEST_STOPPED));
        assertEquals(List.of("TSC_STABLE", "GUEST_STOPPED", "unknown 0x04"), PvclockTimeInfo.flagNames(0x07));
        assertEquals(List.of("unknown 0xf0"), PvclockTimeInfo.flagNames(0xF0));
    }
}
