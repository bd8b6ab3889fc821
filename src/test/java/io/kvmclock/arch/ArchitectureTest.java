package io.kvmclock.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** Dependency directions: arithmetic at the bottom, cli at the top, FFM only in the real backend. */
@AnalyzeClasses(packages = "io.kvmclock", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule arithmeticIsPure = noClasses().that().resideInAPackage("io.kvmclock.time..")
            .should().dependOnClassesThat().resideOutsideOfPackages("io.kvmclock.time..", "java.lang..", "java.math..",
                    "java.nio..", "java.util..")
            .because("the arithmetic package does no I/O and no FFM");

    @ArchTest
    static final ArchRule arithmeticDoesNoIo = noClasses().that().resideInAPackage("io.kvmclock.time..")
            .should().dependOnClassesThat().resideInAnyPackage("java.io..", "java.nio.file..", "java.nio.channels..",
                    "java.lang.foreign..");

    @ArchTest
    static final ArchRule nobodyImportsTheCli = noClasses().that().resideOutsideOfPackage("io.kvmclock.cli..")
            .should().dependOnClassesThat().resideInAPackage("io.kvmclock.cli..");

    @ArchTest
    static final ArchRule onlyTheKvmBackendUsesFfm = noClasses().that().resideOutsideOfPackage("io.kvmclock.kvm..")
            .should().dependOnClassesThat().resideInAPackage("java.lang.foreign..")
            .because("FFM is confined to the real backend's binding");

    @ArchTest
    static final ArchRule contractDependsOnlyOnArithmetic = noClasses().that().resideInAPackage("io.kvmclock.hv..")
            .should().dependOnClassesThat().resideInAnyPackage("io.kvmclock.kvm..", "io.kvmclock.sim..",
                    "io.kvmclock.cli..", "io.kvmclock.guest..");

    @ArchTest
    static final ArchRule backendsAreIndependent = noClasses().that().resideInAPackage("io.kvmclock.sim..")
            .should().dependOnClassesThat().resideInAPackage("io.kvmclock.kvm..")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule realQemuUsesOnlyTheContract = noClasses().that().resideInAPackage("io.kvmclock.peer..")
            .should().dependOnClassesThat().resideInAnyPackage("io.kvmclock.kvm..", "io.kvmclock.sim..", "io.kvmclock.cli..")
            .because("the re-implementation beside real QEMU runs on io.kvmclock.hv, whichever backend the CLI opened");
}
