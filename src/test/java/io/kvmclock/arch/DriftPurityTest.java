package io.kvmclock.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The drift analysis is pure: arithmetic, the hv contract and the clock guest; no I/O, no backend, no CLI. */
@AnalyzeClasses(packages = "io.kvmclock", importOptions = ImportOption.DoNotIncludeTests.class)
class DriftPurityTest {

    @ArchTest
    static final ArchRule driftDoesNoIo = noClasses().that().resideInAPackage("io.kvmclock.drift..")
            .should().dependOnClassesThat().resideInAnyPackage("java.io..", "java.nio.file..", "java.nio.channels..",
                    "java.lang.foreign..", "java.net..")
            .because("the drift analysis computes; the CLI writes files and talks to the user");

    @ArchTest
    static final ArchRule driftUsesOnlyTheContract = noClasses().that().resideInAPackage("io.kvmclock.drift..")
            .should().dependOnClassesThat().resideInAnyPackage("io.kvmclock.kvm..", "io.kvmclock.sim..",
                    "io.kvmclock.cli..")
            .because("measurements run against io.kvmclock.hv so the model and real KVM are interchangeable");

    @ArchTest
    static final ArchRule driftBuildsOnlyOnArithmeticContractAndGuest = noClasses().that()
            .resideInAPackage("io.kvmclock.drift..")
            .should().dependOnClassesThat(JavaClass.Predicates.resideInAPackage("io.kvmclock..")
                    .and(JavaClass.Predicates.resideOutsideOfPackages("io.kvmclock.drift..", "io.kvmclock.time..",
                            "io.kvmclock.hv..", "io.kvmclock.guest..")))
            .because("--measure drives io.kvmclock.guest.ClockGuest through io.kvmclock.hv, nothing else of the project");
}
