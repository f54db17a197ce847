package org.xlstm.jvm.cli

import picocli.CommandLine.IVersionProvider
import java.util.Properties

/** `xlstm --version`: the project version (filtered into a resource at build time) and the runtimes. */
class VersionProvider : IVersionProvider {
    override fun getVersion(): Array<String> = arrayOf(
        "xlstm-jvm $projectVersion",
        "Java ${Runtime.version()} (${System.getProperty("java.vm.name")}), Kotlin ${KotlinVersion.CURRENT}",
    )

    companion object {
        val projectVersion: String by lazy {
            val props = Properties()
            VersionProvider::class.java.getResourceAsStream("version.properties")?.use { props.load(it) }
            props.getProperty("version")?.takeUnless { it.startsWith("\${") } ?: "unknown"
        }
    }
}
