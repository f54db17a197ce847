package org.xlstm.jvm.cuda;

import java.lang.foreign.MemorySegment;

/** An instantiated CUDA graph: one launch replays every captured kernel (cuts launch overhead in decoding). */
public final class CudaGraph implements AutoCloseable {
    private final CudaContext ctx;
    private final MemorySegment graph, exec;

    CudaGraph(CudaContext ctx, MemorySegment graph, MemorySegment exec) {
        this.ctx = ctx;
        this.graph = graph;
        this.exec = exec;
    }

    public void launch(CudaStream stream) {
        ctx.bind();
        ctx.driver().check("cuGraphLaunch", ctx.driver().cuGraphLaunch, exec, stream.handle());
    }

    @Override
    public void close() {
        ctx.bind();
        ctx.driver().check("cuGraphExecDestroy", ctx.driver().cuGraphExecDestroy, exec);
        ctx.driver().check("cuGraphDestroy", ctx.driver().cuGraphDestroy, graph);
    }
}
