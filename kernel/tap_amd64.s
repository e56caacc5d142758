//go:build amd64 && !purego

#include "textflag.h"

// The Tap kernels walk the planes (R9 left), the rows of each (R10), and
// the chunks of 16 columns of a row (CX left), with
//	R8  the tapArgs (tap_amd64.go has the offsets), R13 the chunk's masks,
//	DI  the destination row, R12 its chunk,
//	SI  the plane's virtual source origin: src − colOff, where column j of
//	    the span's first row is read at j·stride,
//	R11 the source row (virtual), R14 its chunk.
// Masked loads (zeroing the lanes outside the mask) never touch the memory
// of a masked lane, so a chunk reads and writes only its span's pixels.

// TAP_START loads the arguments and sets SI to the virtual origin.
#define TAP_START \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ a+16(FP), R8; \
	MOVQ 56(R8), AX; \
	SHLQ $2, AX; \
	SUBQ AX, SI; \
	MOVQ 0(R8), R9

// TAP_CHUNKS starts a row's chunk loop.
#define TAP_CHUNKS \
	LEAQ 72(R8), R13; \
	MOVQ 64(R8), CX; \
	MOVQ R11, R14; \
	MOVQ DI, R12

// TAP_NEXT_ROW moves DI to the next destination row and R10 on.
#define TAP_NEXT_ROW \
	MOVQ 24(R8), AX; \
	SHLQ $2, AX; \
	ADDQ AX, DI; \
	INCQ R10

// TAP_NEXT_SOURCE_ROW moves R11 to the next source row.
#define TAP_NEXT_SOURCE_ROW \
	MOVQ 48(R8), AX; \
	SHLQ $2, AX; \
	ADDQ AX, R11

// TAP_NEXT_PLANE moves SI to the next plane's origin and counts R9 down.
#define TAP_NEXT_PLANE \
	MOVQ 8(R8), AX; \
	SHLQ $2, AX; \
	ADDQ AX, SI; \
	DECQ R9

// func tapGather512s1(dst, src *float32, a *tapArgs)
TEXT ·tapGather512s1(SB), NOSPLIT, $0-24
	TAP_START
	VPXORD Z1, Z1, Z1

g1plane:
	XORQ R10, R10
	MOVQ SI, R11

g1row:
	CMPQ R10, 16(R8)
	JGE  g1nextplane
	CMPQ R10, 32(R8)
	JLT  g1zero
	CMPQ R10, 40(R8)
	JGE  g1zero
	TAP_CHUNKS

g1chunk:
	KMOVW     0(R13), K1
	KMOVW     2(R13), K2
	VMOVUPS.Z (R14), K2, Z0
	VMOVUPS   Z0, K1, (R12)
	ADDQ      $8, R13
	ADDQ      $64, R14
	ADDQ      $64, R12
	DECQ      CX
	JNZ       g1chunk
	TAP_NEXT_SOURCE_ROW
	JMP       g1nextrow

g1zero:
	TAP_CHUNKS

g1zchunk:
	KMOVW   0(R13), K1
	VMOVUPS Z1, K1, (R12)
	ADDQ    $8, R13
	ADDQ    $64, R12
	DECQ    CX
	JNZ     g1zchunk

g1nextrow:
	TAP_NEXT_ROW
	JMP g1row

g1nextplane:
	TAP_NEXT_PLANE
	JNZ g1plane
	VZEROUPPER
	RET

// func tapGather512s2(dst, src *float32, a *tapArgs, idx *[3][16]int32)
// A chunk's 16 points read the even lanes of 32 source floats: two masked
// loads, and VPERMT2PS picks the even lanes of both (Z3, idx[0]).
TEXT ·tapGather512s2(SB), NOSPLIT, $0-32
	TAP_START
	MOVQ    idx+24(FP), AX
	VMOVDQU32 0(AX), Z3
	VPXORD  Z1, Z1, Z1

g2plane:
	XORQ R10, R10
	MOVQ SI, R11

g2row:
	CMPQ R10, 16(R8)
	JGE  g2nextplane
	CMPQ R10, 32(R8)
	JLT  g2zero
	CMPQ R10, 40(R8)
	JGE  g2zero
	TAP_CHUNKS

g2chunk:
	KMOVW     0(R13), K1
	KMOVW     2(R13), K2
	KMOVW     4(R13), K3
	VMOVUPS.Z (R14), K2, Z0
	VMOVUPS.Z 64(R14), K3, Z2
	VPERMT2PS Z2, Z3, Z0
	VMOVUPS   Z0, K1, (R12)
	ADDQ      $8, R13
	ADDQ      $128, R14
	ADDQ      $64, R12
	DECQ      CX
	JNZ       g2chunk
	TAP_NEXT_SOURCE_ROW
	JMP       g2nextrow

g2zero:
	TAP_CHUNKS

g2zchunk:
	KMOVW   0(R13), K1
	VMOVUPS Z1, K1, (R12)
	ADDQ    $8, R13
	ADDQ    $64, R12
	DECQ    CX
	JNZ     g2zchunk

g2nextrow:
	TAP_NEXT_ROW
	JMP g2row

g2nextplane:
	TAP_NEXT_PLANE
	JNZ g2plane
	VZEROUPPER
	RET

// func tapScatter512s1(dst, src *float32, a *tapArgs)
// src[span pixel] += dst[point] for the span's points; rows outside the
// span are skipped.
TEXT ·tapScatter512s1(SB), NOSPLIT, $0-24
	TAP_START

s1plane:
	XORQ R10, R10
	MOVQ SI, R11

s1row:
	CMPQ R10, 16(R8)
	JGE  s1nextplane
	CMPQ R10, 32(R8)
	JLT  s1nextrow
	CMPQ R10, 40(R8)
	JGE  s1nextrow
	TAP_CHUNKS

s1chunk:
	KMOVW     2(R13), K2
	VMOVUPS.Z (R12), K2, Z0
	VMOVUPS.Z (R14), K2, Z2
	VADDPS    Z0, Z2, Z2
	VMOVUPS   Z2, K2, (R14)
	ADDQ      $8, R13
	ADDQ      $64, R14
	ADDQ      $64, R12
	DECQ      CX
	JNZ       s1chunk
	TAP_NEXT_SOURCE_ROW

s1nextrow:
	TAP_NEXT_ROW
	JMP s1row

s1nextplane:
	TAP_NEXT_PLANE
	JNZ s1plane
	VZEROUPPER
	RET

// func tapScatter512s2(dst, src *float32, a *tapArgs, idx *[3][16]int32)
// A chunk's 16 points go to the even lanes of 32 source floats: VPERMPS
// spreads the first 8 (Z4, idx[1]) and the last 8 (Z6, idx[2]) to the even
// lanes of two vectors, added to the source under its masks.
TEXT ·tapScatter512s2(SB), NOSPLIT, $0-32
	TAP_START
	MOVQ      idx+24(FP), AX
	VMOVDQU32 64(AX), Z4
	VMOVDQU32 128(AX), Z6

s2plane:
	XORQ R10, R10
	MOVQ SI, R11

s2row:
	CMPQ R10, 16(R8)
	JGE  s2nextplane
	CMPQ R10, 32(R8)
	JLT  s2nextrow
	CMPQ R10, 40(R8)
	JGE  s2nextrow
	TAP_CHUNKS

s2chunk:
	KMOVW     0(R13), K1
	KMOVW     2(R13), K2
	KMOVW     4(R13), K3
	VMOVUPS.Z (R12), K1, Z0
	VPERMPS   Z0, Z4, Z5
	VPERMPS   Z0, Z6, Z7
	VMOVUPS.Z (R14), K2, Z2
	VADDPS    Z5, Z2, Z2
	VMOVUPS   Z2, K2, (R14)
	KORTESTW  K3, K3
	JZ        s2half // no point in the second half: its floats may be the next row's, just stored
	VMOVUPS.Z 64(R14), K3, Z8
	VADDPS    Z7, Z8, Z8
	VMOVUPS   Z8, K3, 64(R14)

s2half:
	ADDQ      $8, R13
	ADDQ      $128, R14
	ADDQ      $64, R12
	DECQ      CX
	JNZ       s2chunk
	TAP_NEXT_SOURCE_ROW

s2nextrow:
	TAP_NEXT_ROW
	JMP s2row

s2nextplane:
	TAP_NEXT_PLANE
	JNZ s2plane
	VZEROUPPER
	RET
