package org.xlstm.jvm.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds the NVIDIA libraries by name through the loader path first, then in the usual places: CUDA_HOME,
 * LD_LIBRARY_PATH, /usr/local/cuda, the driver's folders, and pip's nvidia-* wheels. A failure lists every place
 * tried so the user knows what to install or point XLSTM_CUDA_LIB / XLSTM_CUBLAS_LIB at.
 */
final class NativeLibraries {
    private NativeLibraries() {}

    static SymbolLookup cudaDriver() {
        return find("the CUDA driver (libcuda)", "XLSTM_CUDA_LIB", List.of("libcuda.so.1", "libcuda.so"),
                List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib",
                        "/usr/lib/wsl/lib"), null);
    }

    static SymbolLookup cublas() {
        return find("cuBLAS (libcublas)", "XLSTM_CUBLAS_LIB",
                List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so"), cudaDirs(), "cublas");
    }

    static SymbolLookup cublasLt() {
        return find("cuBLASLt (libcublasLt)", "XLSTM_CUBLASLT_LIB",
                List.of("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"), cudaDirs(), "cublas");
    }

    private static List<String> cudaDirs() {
        List<String> dirs = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) { dirs.add(home + "/lib64"); dirs.add(home + "/lib"); }
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String d : ld.split(":")) if (!d.isBlank()) dirs.add(d);
        dirs.add("/usr/local/cuda/lib64");
        dirs.add("/usr/local/cuda/targets/x86_64-linux/lib");
        dirs.add("/usr/lib/x86_64-linux-gnu");
        return dirs;
    }

    /** Python wheels ship libraries under site-packages/nvidia/<pkg>/lib. */
    private static List<Path> wheelDirs(String pkg) {
        List<Path> out = new ArrayList<>();
        for (String root : List.of("/opt", "/usr/local/lib", "/usr/lib", System.getProperty("user.home") + "/.local/lib")) {
            collectWheelDirs(Path.of(root), pkg, 0, out);
        }
        return out;
    }

    private static void collectWheelDirs(Path dir, String pkg, int depth, List<Path> out) {
        if (depth > 5 || !Files.isDirectory(dir)) return;
        Path candidate = dir.resolve("nvidia").resolve(pkg).resolve("lib");
        if (Files.isDirectory(candidate)) out.add(candidate);
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                if (Files.isDirectory(p) && (n.startsWith("python") || n.equals("site-packages") || n.equals("dist-packages")
                        || n.startsWith(".venv") || n.equals("lib") || n.equals("torch") || n.equals("venv")))
                    collectWheelDirs(p, pkg, depth + 1, out);
            }
        } catch (IOException | SecurityException ignored) {
            // unreadable folder: nothing to find there
        }
    }

    private static SymbolLookup find(String what, String envVar, List<String> names, List<String> dirs, String wheel) {
        Set<String> tried = new LinkedHashSet<>();
        String explicit = System.getenv(envVar);
        if (explicit != null) {
            SymbolLookup l = tryLoad(explicit, tried);
            if (l != null) return l;
        }
        for (String n : names) {
            SymbolLookup l = tryLoad(n, tried);
            if (l != null) return l;
        }
        List<Path> allDirs = new ArrayList<>();
        for (String d : dirs) allDirs.add(Path.of(d));
        if (wheel != null) allDirs.addAll(wheelDirs(wheel));
        for (Path d : allDirs) {
            for (String n : names) {
                Path p = d.resolve(n);
                if (Files.exists(p)) {
                    SymbolLookup l = tryLoad(p.toString(), tried);
                    if (l != null) return l;
                } else tried.add(p.toString());
            }
        }
        throw new CudaUnavailableException("cannot load " + what + "; tried " + String.join(", ", tried)
                + ". Install it, add its folder to LD_LIBRARY_PATH or CUDA_HOME, or set " + envVar + " to the file.");
    }

    private static SymbolLookup tryLoad(String nameOrPath, Set<String> tried) {
        try {
            return SymbolLookup.libraryLookup(nameOrPath.contains("/") ? Path.of(nameOrPath).toString() : nameOrPath,
                    Arena.global());
        } catch (IllegalArgumentException e) {
            tried.add(nameOrPath);
            return null;
        }
    }
}
