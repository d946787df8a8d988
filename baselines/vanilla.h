// vanilla.h: plain backpropagation as a LinearMethod (ARCHITECTURE.md "Methods": save x;
// dW = sum over tokens dy x^T; db = sum dy; dx = dy W).
#ifndef WB_VANILLA_H
#define WB_VANILLA_H

#include "core/nn/linear_method.h"

extern const LinearMethod method_vanilla;

#endif
