package io.laketune.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A learned linear map of activations, x [N, in] → y [N, out]: a plain {@link Linear}, or one
 * with an adapter on top (LoRA, DoRA). The forward cache is x itself, which the caller keeps;
 * backward adds parameter gradients and returns dx.
 */
public interface Projection {

  INDArray forward(INDArray x);

  INDArray backward(INDArray dy, INDArray x);
}
