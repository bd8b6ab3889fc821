package io.kvmclock.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The clock guest must run on any backend: it may see only the hv contract and the arithmetic. */
class GuestDependenciesTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.kvmclock");

    @Test
    void guestUsesOnlyTheHvContract() {
        classes().that().resideInAPackage("io.kvmclock.guest..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.kvmclock.guest..", "io.kvmclock.hv..",
                        "io.kvmclock.time..", "java..")
                .check(MAIN);
    }
}
