package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What the CLI acts on is a property of the method, not its name. */
class ContractTest {

    @Test
    void onlyPrecisePromisesItsBoundAndIterates() {
        for (RestoreMethod m : RestoreMethods.all()) {
            Contract expected = m instanceof PreciseMethod ? new Contract(true, true) : Contract.PLAIN;
            assertEquals(expected, m.contract(), m.name());
        }
        assertEquals(new Contract(true, true), RestoreMethods.byName("precise", DowntimePolicy.FREEZE).contract());
        assertEquals(Contract.PLAIN, new Contract(false, false));
    }
}
