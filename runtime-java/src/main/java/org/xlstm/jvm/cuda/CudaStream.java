package org.xlstm.jvm.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A CUDA stream with event timing and graph capture (used for the decode step). */
public final class CudaStream implements AutoCloseable {
    private final CudaContext ctx;
    private final MemorySegment handle;

    public CudaStream(CudaContext ctx) {
        this.ctx = ctx;
        ctx.bind();
        CudaDriver cu = ctx.driver();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            cu.check("cuStreamCreate", cu.cuStreamCreate, p, 1 /* CU_STREAM_NON_BLOCKING */);
            handle = p.get(ADDRESS, 0);
        }
    }

    /** The CUstream handle (launches made outside this package: cuLaunchKernelEx). */
    public MemorySegment handle() { return handle; }

    public void synchronize() {
        ctx.bind();
        ctx.driver().check("cuStreamSynchronize", ctx.driver().cuStreamSynchronize, handle);
    }

    /** Milliseconds the work submitted by {@code body} took on this stream, measured with device events. */
    public float time(Runnable body) {
        ctx.bind();
        CudaDriver cu = ctx.driver();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p0 = a.allocate(ADDRESS), p1 = a.allocate(ADDRESS), ms = a.allocate(JAVA_FLOAT);
            cu.check("cuEventCreate", cu.cuEventCreate, p0, 0);
            cu.check("cuEventCreate", cu.cuEventCreate, p1, 0);
            MemorySegment e0 = p0.get(ADDRESS, 0), e1 = p1.get(ADDRESS, 0);
            try {
                cu.check("cuEventRecord", cu.cuEventRecord, e0, handle);
                body.run();
                ctx.bind();
                cu.check("cuEventRecord", cu.cuEventRecord, e1, handle);
                cu.check("cuEventSynchronize", cu.cuEventSynchronize, e1);
                cu.check("cuEventElapsedTime", cu.cuEventElapsedTime, ms, e0, e1);
                return ms.get(JAVA_FLOAT, 0);
            } finally {
                cu.check("cuEventDestroy", cu.cuEventDestroy, e0);
                cu.check("cuEventDestroy", cu.cuEventDestroy, e1);
            }
        }
    }

    /** Captures the launches {@code body} makes on this stream into a replayable graph. */
    public CudaGraph capture(Runnable body) {
        ctx.bind();
        CudaDriver cu = ctx.driver();
        cu.check("cuStreamBeginCapture", cu.cuStreamBeginCapture, handle, 2 /* CU_STREAM_CAPTURE_MODE_RELAXED */);
        MemorySegment graph;
        try (Arena a = Arena.ofConfined()) {
            try {
                body.run();
            } finally {
                MemorySegment p = a.allocate(ADDRESS);
                ctx.bind();
                cu.check("cuStreamEndCapture", cu.cuStreamEndCapture, handle, p);
                graph = p.get(ADDRESS, 0);
            }
            MemorySegment e = a.allocate(ADDRESS);
            cu.check("cuGraphInstantiate", cu.cuGraphInstantiate, e, graph, 0L);
            return new CudaGraph(ctx, graph, e.get(ADDRESS, 0));
        }
    }

    @Override
    public void close() {
        ctx.bind();
        ctx.driver().check("cuStreamDestroy", ctx.driver().cuStreamDestroy, handle);
    }
}
