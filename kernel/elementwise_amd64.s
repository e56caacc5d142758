//go:build amd64 && !purego

#include "textflag.h"

// FTZ_ON saves MXCSR and sets flush-to-zero and denormals-are-zero: results
// below the smallest normal float32 (1.2e-38) become 0, and such inputs
// count as 0. Without them each subnormal result costs a microcode assist:
// a sigmoid of logits below −87, which trained models give the
// always-black pixels, ran 3× slower. FTZ_OFF restores the caller's MXCSR.
// Both need an 8-byte frame. The sigmoid and BCE kernels use them; Adam
// does not, to stay bit-identical to PyTorch's.
#define FTZ_ON \
	STMXCSR mxcsr-8(SP); \
	MOVL    mxcsr-8(SP), R10; \
	ORL     $0x8040, R10; \
	MOVL    R10, ftz-4(SP); \
	LDMXCSR ftz-4(SP)

#define FTZ_OFF LDMXCSR mxcsr-8(SP)

// func adamStep512(n int, value, grad, m, v *float32, c *[8]float32, wd bool)
TEXT ·adamStep512(SB), NOSPLIT, $0-49
	MOVQ n+0(FP), CX
	MOVQ value+8(FP), DI
	MOVQ grad+16(FP), SI
	MOVQ m+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ c+40(FP), AX
	MOVBLZX wd+48(FP), DX
	VBROADCASTSS 0(AX), Z8  // beta1
	VBROADCASTSS 4(AX), Z9  // beta2
	VBROADCASTSS 8(AX), Z10 // oneMinB1
	VBROADCASTSS 12(AX), Z11 // oneMinB2
	VBROADCASTSS 16(AX), Z12 // wd
	VBROADCASTSS 20(AX), Z13 // negStep
	VBROADCASTSS 24(AX), Z14 // bc2Sqrt
	VBROADCASTSS 28(AX), Z15 // eps
	XORQ BX, BX

adamloop512:
	CMPQ BX, CX
	JGE  adamdone512
	VMOVUPS (SI)(BX*4), Z0 // g
	VMOVUPS (DI)(BX*4), Z1 // value
	TESTQ   DX, DX
	JZ      adamnowd512
	VFMADD231PS Z12, Z1, Z0 // g = value*wd + g

adamnowd512:
	VMOVUPS     (R8)(BX*4), Z2
	VMULPS      Z8, Z2, Z2   // m*beta1
	VFMADD231PS Z10, Z0, Z2  // m = g*oneMinB1 + m*beta1
	VMOVUPS     (R9)(BX*4), Z3
	VMULPS      Z9, Z3, Z3   // v*beta2
	VMULPS      Z11, Z0, Z4  // oneMinB2*g
	VFMADD231PS Z0, Z4, Z3   // v = (oneMinB2*g)*g + v*beta2
	VMOVUPS     Z2, (R8)(BX*4)
	VMOVUPS     Z3, (R9)(BX*4)
	VSQRTPS     Z3, Z5
	VDIVPS      Z14, Z5, Z5  // sqrt(v)/bc2Sqrt
	VADDPS      Z15, Z5, Z5  // + eps
	VMULPS      Z13, Z2, Z6  // negStep*m
	VDIVPS      Z5, Z6, Z6   // / denom
	VADDPS      Z6, Z1, Z1
	VMOVUPS     Z1, (DI)(BX*4)
	ADDQ        $16, BX
	JMP         adamloop512

adamdone512:
	VZEROUPPER
	RET

// func adamStep256(n int, value, grad, m, v *float32, c *[8]float32, wd bool)
TEXT ·adamStep256(SB), NOSPLIT, $0-49
	MOVQ n+0(FP), CX
	MOVQ value+8(FP), DI
	MOVQ grad+16(FP), SI
	MOVQ m+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ c+40(FP), AX
	MOVBLZX wd+48(FP), DX
	VBROADCASTSS 0(AX), Y8  // beta1
	VBROADCASTSS 4(AX), Y9  // beta2
	VBROADCASTSS 8(AX), Y10 // oneMinB1
	VBROADCASTSS 12(AX), Y11 // oneMinB2
	VBROADCASTSS 16(AX), Y12 // wd
	VBROADCASTSS 20(AX), Y13 // negStep
	VBROADCASTSS 24(AX), Y14 // bc2Sqrt
	VBROADCASTSS 28(AX), Y15 // eps
	XORQ BX, BX

adamloop256:
	CMPQ BX, CX
	JGE  adamdone256
	VMOVUPS (SI)(BX*4), Y0 // g
	VMOVUPS (DI)(BX*4), Y1 // value
	TESTQ   DX, DX
	JZ      adamnowd256
	VFMADD231PS Y12, Y1, Y0 // g = value*wd + g

adamnowd256:
	VMOVUPS     (R8)(BX*4), Y2
	VMULPS      Y8, Y2, Y2   // m*beta1
	VFMADD231PS Y10, Y0, Y2  // m = g*oneMinB1 + m*beta1
	VMOVUPS     (R9)(BX*4), Y3
	VMULPS      Y9, Y3, Y3   // v*beta2
	VMULPS      Y11, Y0, Y4  // oneMinB2*g
	VFMADD231PS Y0, Y4, Y3   // v = (oneMinB2*g)*g + v*beta2
	VMOVUPS     Y2, (R8)(BX*4)
	VMOVUPS     Y3, (R9)(BX*4)
	VSQRTPS     Y3, Y5
	VDIVPS      Y14, Y5, Y5  // sqrt(v)/bc2Sqrt
	VADDPS      Y15, Y5, Y5  // + eps
	VMULPS      Y13, Y2, Y6  // negStep*m
	VDIVPS      Y5, Y6, Y6   // / denom
	VADDPS      Y6, Y1, Y1
	VMOVUPS     Y1, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         adamloop256

adamdone256:
	VZEROUPPER
	RET

// EXPNEG sets Z9 to exp(x) for x = -|Z0| (clamped at -103.9), via
// x = n·ln2 + r, exp(r) by Cephes' expf polynomial and 2ⁿ = 2^(n>>1)·2^(n−n>>1)
// so that results down to the subnormals come out. It uses Z3–Z8.
#define EXPNEG512 \
	VPORD 64(AX), Z0, Z3; \
	VMOVUPS 128(AX), Z4; \
	VMAXPS Z3, Z4, Z3; \
	VMOVUPS 256(AX), Z4; \
	VFMADD231PS 192(AX), Z3, Z4; \
	VSUBPS 256(AX), Z4, Z5; \
	VMOVAPS Z3, Z6; \
	VFMADD231PS 320(AX), Z5, Z6; \
	VFMADD231PS 384(AX), Z5, Z6; \
	VMOVUPS 448(AX), Z7; \
	VFMADD213PS 512(AX), Z6, Z7; \
	VFMADD213PS 576(AX), Z6, Z7; \
	VFMADD213PS 640(AX), Z6, Z7; \
	VFMADD213PS 704(AX), Z6, Z7; \
	VFMADD213PS 768(AX), Z6, Z7; \
	VMULPS Z6, Z6, Z8; \
	VFMADD213PS Z6, Z8, Z7; \
	VADDPS 832(AX), Z7, Z7; \
	VPSUBD 256(AX), Z4, Z4; \
	VPSRAD $1, Z4, Z5; \
	VPSUBD Z5, Z4, Z4; \
	VPADDD 960(AX), Z5, Z5; \
	VPADDD 960(AX), Z4, Z4; \
	VPSLLD $23, Z5, Z5; \
	VPSLLD $23, Z4, Z4; \
	VMULPS Z5, Z7, Z7; \
	VMULPS Z4, Z7, Z9

// func bce512(n int, grad, logits, targets *float32, scale float32, c *[nEwConst][16]float32) (sum float64)
TEXT ·bce512(SB), NOSPLIT, $8-56
	FTZ_ON
	MOVQ n+0(FP), CX
	MOVQ grad+8(FP), DI
	MOVQ logits+16(FP), SI
	MOVQ targets+24(FP), DX
	MOVQ c+40(FP), AX
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	XORQ BX, BX

bceloop512:
	CMPQ BX, CX
	JGE  bcedone512
	VMOVUPS (SI)(BX*4), Z0 // l
	VMOVUPS (DX)(BX*4), Z1 // t
	EXPNEG512
	// log1p(e) = 2·atanh(s), s = e/(2+e) ≤ 1/3.
	VADDPS 896(AX), Z9, Z10
	VDIVPS Z10, Z9, Z10
	VMULPS Z10, Z10, Z11
	VMOVUPS 1024(AX), Z12
	VFMADD213PS 1088(AX), Z11, Z12
	VFMADD213PS 1152(AX), Z11, Z12
	VFMADD213PS 1216(AX), Z11, Z12
	VFMADD213PS 1280(AX), Z11, Z12
	VFMADD213PS 1344(AX), Z11, Z12
	VMULPS Z11, Z12, Z12
	VADDPS Z10, Z10, Z10
	VFMADD231PS Z12, Z10, Z10
	// loss = |l|·(l<0 ? t : 1−t) + log1p(e)
	VPANDD 0(AX), Z0, Z2
	VMOVUPS 832(AX), Z8
	VSUBPS Z1, Z8, Z8
	VPTESTMD 64(AX), Z0, K1
	VMOVAPS Z1, K1, Z8
	VFMADD231PS Z8, Z2, Z10
	VCVTPS2PD Y10, Z11
	VADDPD Z11, Z14, Z14
	VEXTRACTF64X4 $1, Z10, Y11
	VCVTPS2PD Y11, Z11
	VADDPD Z11, Z15, Z15
	TESTQ DI, DI
	JZ    bcenext512
	// grad = scale·(σ(l) − t), σ = 1/(1+e) or e/(1+e)
	VADDPS 832(AX), Z9, Z4
	VMOVUPS 832(AX), Z5
	VDIVPS Z4, Z5, Z4
	VMULPS Z4, Z9, Z5
	VMOVAPS Z5, K1, Z4
	VSUBPS Z1, Z4, Z4
	VBROADCASTSS scale+32(FP), Z5
	VMULPS Z5, Z4, Z4
	VMOVUPS Z4, (DI)(BX*4)

bcenext512:
	ADDQ $16, BX
	JMP  bceloop512

bcedone512:
	VADDPD Z15, Z14, Z14
	VEXTRACTF64X4 $1, Z14, Y15
	VADDPD Y15, Y14, Y14
	VEXTRACTF128 $1, Y14, X15
	VADDPD X15, X14, X14
	VUNPCKHPD X14, X14, X15
	VADDSD X15, X14, X14
	VMOVSD X14, sum+48(FP)
	FTZ_OFF
	VZEROUPPER
	RET

// func sigmoid512(n int, y, x *float32, c *[nEwConst][16]float32)
TEXT ·sigmoid512(SB), NOSPLIT, $8-32
	FTZ_ON
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ c+24(FP), AX
	XORQ BX, BX

sigloop512:
	CMPQ BX, CX
	JGE  sigdone512
	VMOVUPS (SI)(BX*4), Z0
	EXPNEG512
	VADDPS 832(AX), Z9, Z4
	VMOVUPS 832(AX), Z5
	VDIVPS Z4, Z5, Z4
	VMULPS Z4, Z9, Z5
	VPTESTMD 64(AX), Z0, K1
	VMOVAPS Z5, K1, Z4
	VMOVUPS Z4, (DI)(BX*4)
	ADDQ $16, BX
	JMP  sigloop512

sigdone512:
	FTZ_OFF
	VZEROUPPER
	RET

// EXPNEG sets Y9 to exp(x) for x = -|Y0| (clamped at -103.9), via
// x = n·ln2 + r, exp(r) by Cephes' expf polynomial and 2ⁿ = 2^(n>>1)·2^(n−n>>1)
// so that results down to the subnormals come out. It uses Y3–Y8.
#define EXPNEG256 \
	VPOR 64(AX), Y0, Y3; \
	VMOVUPS 128(AX), Y4; \
	VMAXPS Y3, Y4, Y3; \
	VMOVUPS 256(AX), Y4; \
	VFMADD231PS 192(AX), Y3, Y4; \
	VSUBPS 256(AX), Y4, Y5; \
	VMOVAPS Y3, Y6; \
	VFMADD231PS 320(AX), Y5, Y6; \
	VFMADD231PS 384(AX), Y5, Y6; \
	VMOVUPS 448(AX), Y7; \
	VFMADD213PS 512(AX), Y6, Y7; \
	VFMADD213PS 576(AX), Y6, Y7; \
	VFMADD213PS 640(AX), Y6, Y7; \
	VFMADD213PS 704(AX), Y6, Y7; \
	VFMADD213PS 768(AX), Y6, Y7; \
	VMULPS Y6, Y6, Y8; \
	VFMADD213PS Y6, Y8, Y7; \
	VADDPS 832(AX), Y7, Y7; \
	VPSUBD 256(AX), Y4, Y4; \
	VPSRAD $1, Y4, Y5; \
	VPSUBD Y5, Y4, Y4; \
	VPADDD 960(AX), Y5, Y5; \
	VPADDD 960(AX), Y4, Y4; \
	VPSLLD $23, Y5, Y5; \
	VPSLLD $23, Y4, Y4; \
	VMULPS Y5, Y7, Y7; \
	VMULPS Y4, Y7, Y9

// func bce256(n int, grad, logits, targets *float32, scale float32, c *[nEwConst][16]float32) (sum float64)
TEXT ·bce256(SB), NOSPLIT, $8-56
	FTZ_ON
	MOVQ n+0(FP), CX
	MOVQ grad+8(FP), DI
	MOVQ logits+16(FP), SI
	MOVQ targets+24(FP), DX
	MOVQ c+40(FP), AX
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	XORQ BX, BX

bceloop256:
	CMPQ BX, CX
	JGE  bcedone256
	VMOVUPS (SI)(BX*4), Y0 // l
	VMOVUPS (DX)(BX*4), Y1 // t
	EXPNEG256
	// log1p(e) = 2·atanh(s), s = e/(2+e) ≤ 1/3.
	VADDPS 896(AX), Y9, Y10
	VDIVPS Y10, Y9, Y10
	VMULPS Y10, Y10, Y11
	VMOVUPS 1024(AX), Y12
	VFMADD213PS 1088(AX), Y11, Y12
	VFMADD213PS 1152(AX), Y11, Y12
	VFMADD213PS 1216(AX), Y11, Y12
	VFMADD213PS 1280(AX), Y11, Y12
	VFMADD213PS 1344(AX), Y11, Y12
	VMULPS Y11, Y12, Y12
	VADDPS Y10, Y10, Y10
	VFMADD231PS Y12, Y10, Y10
	// loss = |l|·(l<0 ? t : 1−t) + log1p(e)
	VPAND 0(AX), Y0, Y2
	VMOVUPS 832(AX), Y8
	VSUBPS Y1, Y8, Y8
	VBLENDVPS Y0, Y1, Y8, Y8
	VFMADD231PS Y8, Y2, Y10
	VCVTPS2PD X10, Y11
	VADDPD Y11, Y14, Y14
	VEXTRACTF128 $1, Y10, X11
	VCVTPS2PD X11, Y11
	VADDPD Y11, Y15, Y15
	TESTQ DI, DI
	JZ    bcenext256
	// grad = scale·(σ(l) − t), σ = 1/(1+e) or e/(1+e)
	VADDPS 832(AX), Y9, Y4
	VMOVUPS 832(AX), Y5
	VDIVPS Y4, Y5, Y4
	VMULPS Y4, Y9, Y5
	VBLENDVPS Y0, Y5, Y4, Y4
	VSUBPS Y1, Y4, Y4
	VBROADCASTSS scale+32(FP), Y5
	VMULPS Y5, Y4, Y4
	VMOVUPS Y4, (DI)(BX*4)

bcenext256:
	ADDQ $8, BX
	JMP  bceloop256

bcedone256:
	VADDPD Y15, Y14, Y14
	VEXTRACTF128 $1, Y14, X15
	VADDPD X15, X14, X14
	VUNPCKHPD X14, X14, X15
	VADDSD X15, X14, X14
	VMOVSD X14, sum+48(FP)
	FTZ_OFF
	VZEROUPPER
	RET

// func sigmoid256(n int, y, x *float32, c *[nEwConst][16]float32)
TEXT ·sigmoid256(SB), NOSPLIT, $8-32
	FTZ_ON
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ c+24(FP), AX
	XORQ BX, BX

sigloop256:
	CMPQ BX, CX
	JGE  sigdone256
	VMOVUPS (SI)(BX*4), Y0
	EXPNEG256
	VADDPS 832(AX), Y9, Y4
	VMOVUPS 832(AX), Y5
	VDIVPS Y4, Y5, Y4
	VMULPS Y4, Y9, Y5
	VBLENDVPS Y0, Y5, Y4, Y4
	VMOVUPS Y4, (DI)(BX*4)
	ADDQ $8, BX
	JMP  sigloop256

sigdone256:
	FTZ_OFF
	VZEROUPPER
	RET

// TANH sets Z5 (Y5) to tanh(x) for x in Z0 (Y0), as tanhGo: a = min(|x|,
// 9.1), −2a = n·ln2 + r, m = 2ⁿ·expm1(r) + (2ⁿ − 1) with expm1(r) = r +
// r²·P(r), tanh = −m/(2 + m), then x's sign, and NaN for NaN. It uses
// Z1–Z8 (Y1–Y8). 1408(AX) holds 9.1.

// func tanh512(n int, y, x *float32, c *[nEwConst][16]float32)
TEXT ·tanh512(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ c+24(FP), AX
	XORQ BX, BX

tanhloop512:
	CMPQ BX, CX
	JGE  tanhdone512
	VMOVUPS     (SI)(BX*4), Z0
	VPANDD      0(AX), Z0, Z1
	VMINPS      1408(AX), Z1, Z1
	VADDPS      Z1, Z1, Z3
	VPORD       64(AX), Z3, Z3
	VMOVUPS     256(AX), Z4
	VFMADD231PS 192(AX), Z3, Z4
	VSUBPS      256(AX), Z4, Z5
	VMOVAPS     Z3, Z6
	VFMADD231PS 320(AX), Z5, Z6
	VFMADD231PS 384(AX), Z5, Z6
	VMOVUPS     448(AX), Z7
	VFMADD213PS 512(AX), Z6, Z7
	VFMADD213PS 576(AX), Z6, Z7
	VFMADD213PS 640(AX), Z6, Z7
	VFMADD213PS 704(AX), Z6, Z7
	VFMADD213PS 768(AX), Z6, Z7
	VMULPS      Z6, Z6, Z8
	VFMADD213PS Z6, Z8, Z7
	VPSUBD      256(AX), Z4, Z4
	VPADDD      960(AX), Z4, Z4
	VPSLLD      $23, Z4, Z4
	VSUBPS      832(AX), Z4, Z5
	VFMADD231PS Z4, Z7, Z5
	VADDPS      896(AX), Z5, Z6
	VPXORD      64(AX), Z5, Z5
	VDIVPS      Z6, Z5, Z5
	VPANDD      0(AX), Z5, Z5
	VPANDD      64(AX), Z0, Z2
	VPORD       Z2, Z5, Z5
	VCMPPS      $3, Z0, Z0, K1
	VMOVAPS     Z0, K1, Z5
	VMOVUPS     Z5, (DI)(BX*4)
	ADDQ        $16, BX
	JMP         tanhloop512

tanhdone512:
	VZEROUPPER
	RET

// func tanh256(n int, y, x *float32, c *[nEwConst][16]float32)
TEXT ·tanh256(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ c+24(FP), AX
	XORQ BX, BX

tanhloop256:
	CMPQ BX, CX
	JGE  tanhdone256
	VMOVUPS     (SI)(BX*4), Y0
	VANDPS      0(AX), Y0, Y1
	VMINPS      1408(AX), Y1, Y1
	VADDPS      Y1, Y1, Y3
	VORPS       64(AX), Y3, Y3
	VMOVUPS     256(AX), Y4
	VFMADD231PS 192(AX), Y3, Y4
	VSUBPS      256(AX), Y4, Y5
	VMOVAPS     Y3, Y6
	VFMADD231PS 320(AX), Y5, Y6
	VFMADD231PS 384(AX), Y5, Y6
	VMOVUPS     448(AX), Y7
	VFMADD213PS 512(AX), Y6, Y7
	VFMADD213PS 576(AX), Y6, Y7
	VFMADD213PS 640(AX), Y6, Y7
	VFMADD213PS 704(AX), Y6, Y7
	VFMADD213PS 768(AX), Y6, Y7
	VMULPS      Y6, Y6, Y8
	VFMADD213PS Y6, Y8, Y7
	VPSUBD      256(AX), Y4, Y4
	VPADDD      960(AX), Y4, Y4
	VPSLLD      $23, Y4, Y4
	VSUBPS      832(AX), Y4, Y5
	VFMADD231PS Y4, Y7, Y5
	VADDPS      896(AX), Y5, Y6
	VXORPS      64(AX), Y5, Y5
	VDIVPS      Y6, Y5, Y5
	VANDPS      0(AX), Y5, Y5
	VANDPS      64(AX), Y0, Y2
	VORPS       Y2, Y5, Y5
	VCMPPS      $3, Y0, Y0, Y2
	VBLENDVPS   Y2, Y0, Y5, Y5
	VMOVUPS     Y5, (DI)(BX*4)
	ADDQ        $8, BX
	JMP         tanhloop256

tanhdone256:
	VZEROUPPER
	RET

// func allIn256(n int, x *float32, lo, hi float32) bool
// n is a multiple of 8. Ordered comparisons: NaN is in no range.
TEXT ·allIn256(SB), NOSPLIT, $0-25
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS lo+16(FP), Y1
	VBROADCASTSS hi+20(FP), Y2
	VPCMPEQD Y3, Y3, Y3 // all lanes in range so far
	SHRQ $3, CX
	JZ allin_done
allin_loop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1D, Y1, Y0, Y4 // x ≥ lo, ordered
	VCMPPS $0x12, Y2, Y0, Y5 // x ≤ hi, ordered
	VANDPS Y5, Y4, Y4
	VANDPS Y4, Y3, Y3
	ADDQ $32, SI
	DECQ CX
	JNZ allin_loop
allin_done:
	VMOVMSKPS Y3, AX
	CMPL AX, $0xff
	SETEQ ret+24(FP)
	VZEROUPPER
	RET

// func relu512(n int, y, x *float32)
// y = max(x, 0) + 0: VMAXPS returns its second source, x, when either is
// NaN, so NaN stays NaN; adding +0 turns max's −0 (for x = −0) into +0.
TEXT ·relu512(SB), NOSPLIT, $0-24
	MOVQ   n+0(FP), CX
	MOVQ   y+8(FP), DI
	MOVQ   x+16(FP), SI
	VPXORD Z1, Z1, Z1
	XORQ   BX, BX
relu512loop:
	CMPQ    BX, CX
	JGE     relu512done
	VMOVUPS (SI)(BX*4), Z0
	VMAXPS  Z0, Z1, Z0
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, (DI)(BX*4)
	ADDQ    $16, BX
	JMP     relu512loop
relu512done:
	VZEROUPPER
	RET

// func relu256(n int, y, x *float32)
TEXT ·relu256(SB), NOSPLIT, $0-24
	MOVQ   n+0(FP), CX
	MOVQ   y+8(FP), DI
	MOVQ   x+16(FP), SI
	VXORPS Y1, Y1, Y1
	XORQ   BX, BX
relu256loop:
	CMPQ    BX, CX
	JGE     relu256done
	VMOVUPS (SI)(BX*4), Y0
	VMAXPS  Y0, Y1, Y0
	VADDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     relu256loop
relu256done:
	VZEROUPPER
	RET

// func reluBackward512(n int, dx, dy, y *float32)
// dx = dy where y's bits are non-zero, else +0.
TEXT ·reluBackward512(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ dx+8(FP), DI
	MOVQ dy+16(FP), SI
	MOVQ y+24(FP), DX
	XORQ BX, BX
relub512loop:
	CMPQ      BX, CX
	JGE       relub512done
	VMOVUPS   (DX)(BX*4), Z0
	VPTESTMD  Z0, Z0, K1
	VMOVUPS.Z (SI)(BX*4), K1, Z1
	VMOVUPS   Z1, (DI)(BX*4)
	ADDQ      $16, BX
	JMP       relub512loop
relub512done:
	VZEROUPPER
	RET

// func reluBackward256(n int, dx, dy, y *float32)
TEXT ·reluBackward256(SB), NOSPLIT, $0-32
	MOVQ    n+0(FP), CX
	MOVQ    dx+8(FP), DI
	MOVQ    dy+16(FP), SI
	MOVQ    y+24(FP), DX
	VPXOR   Y2, Y2, Y2
	XORQ    BX, BX
relub256loop:
	CMPQ     BX, CX
	JGE      relub256done
	VMOVUPS  (DX)(BX*4), Y0
	VPCMPEQD Y2, Y0, Y0 // all ones where y is +0
	VANDNPS  (SI)(BX*4), Y0, Y1
	VMOVUPS  Y1, (DI)(BX*4)
	ADDQ     $8, BX
	JMP      relub256loop
relub256done:
	VZEROUPPER
	RET
