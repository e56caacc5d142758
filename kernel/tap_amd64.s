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

// TAP_START256 is TAP_START with the AVX2 kernels' lane table in DX.
#define TAP_START256 \
	TAP_START; \
	MOVQ lanes+24(FP), DX

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

// The AVX2 kernels take the same tapArgs, each 16-column chunk as two
// halves of 8 (A, then B unless its columns are all past the plane's), and
// turn a mask byte into the lane mask VMASKMOVPS takes through the table at
// DX (tapLanes). VMASKMOVPS, like AVX-512's masked moves, does not touch
// the memory of a masked-out lane, and loads 0 there.

// LANES sets Y to the lane mask of the byte at m.
#define LANES(m, y) \
	MOVBQZX m, AX; \
	SHLQ    $5, AX; \
	VMOVDQU (DX)(AX*1), y

// func tapGather256s1(dst, src *float32, a *tapArgs, lanes *[256][8]int32)
TEXT ·tapGather256s1(SB), NOSPLIT, $0-32
	TAP_START256
	VXORPS Y1, Y1, Y1

h1plane:
	XORQ R10, R10
	MOVQ SI, R11

h1row:
	CMPQ R10, 16(R8)
	JGE  h1nextplane
	CMPQ R10, 32(R8)
	JLT  h1zero
	CMPQ R10, 40(R8)
	JGE  h1zero
	TAP_CHUNKS

h1chunk:
	LANES(0(R13), Y10)
	LANES(2(R13), Y11)
	VMASKMOVPS (R14), Y11, Y0
	VMASKMOVPS Y0, Y10, (R12)
	MOVBQZX    1(R13), BX
	TESTQ      BX, BX
	JZ         h1next
	LANES(1(R13), Y10)
	LANES(3(R13), Y11)
	VMASKMOVPS 32(R14), Y11, Y0
	VMASKMOVPS Y0, Y10, 32(R12)

h1next:
	ADDQ $8, R13
	ADDQ $64, R14
	ADDQ $64, R12
	DECQ CX
	JNZ  h1chunk
	TAP_NEXT_SOURCE_ROW
	JMP  h1nextrow

h1zero:
	TAP_CHUNKS

h1zchunk:
	LANES(0(R13), Y10)
	VMASKMOVPS Y1, Y10, (R12)
	LANES(1(R13), Y10)
	VMASKMOVPS Y1, Y10, 32(R12)
	ADDQ       $8, R13
	ADDQ       $64, R12
	DECQ       CX
	JNZ        h1zchunk

h1nextrow:
	TAP_NEXT_ROW
	JMP h1row

h1nextplane:
	TAP_NEXT_PLANE
	JNZ h1plane
	VZEROUPPER
	RET

// GATHER2_HALF gathers 8 points from the 16 source floats at src and src2
// (lane masks in the bytes at m0, m1) and stores them at dst under the store
// byte at ms: VPERMPS by Y13 = (0, 2, 4, 6, 0, 2, 4, 6) puts each vector's
// even lanes in both its halves, and the blend takes the low half of the
// first and the high half of the second.
#define GATHER2_HALF(src, src2, m0, m1, ms, dst) \
	LANES(m0, Y11); \
	VMASKMOVPS src, Y11, Y0; \
	LANES(m1, Y12); \
	VMASKMOVPS src2, Y12, Y2; \
	VPERMPS    Y0, Y13, Y0; \
	VPERMPS    Y2, Y13, Y2; \
	VBLENDPS   $0xf0, Y2, Y0, Y0; \
	LANES(ms, Y10); \
	VMASKMOVPS Y0, Y10, dst

// func tapGather256s2(dst, src *float32, a *tapArgs, lanes *[256][8]int32, idx *[3][8]int32)
TEXT ·tapGather256s2(SB), NOSPLIT, $0-40
	TAP_START256
	MOVQ    idx+32(FP), AX
	VMOVDQU 0(AX), Y13
	VXORPS  Y1, Y1, Y1

h2plane:
	XORQ R10, R10
	MOVQ SI, R11

h2row:
	CMPQ R10, 16(R8)
	JGE  h2nextplane
	CMPQ R10, 32(R8)
	JLT  h2zero
	CMPQ R10, 40(R8)
	JGE  h2zero
	TAP_CHUNKS

h2chunk:
	GATHER2_HALF((R14), 32(R14), 2(R13), 3(R13), 0(R13), (R12))
	MOVBQZX 1(R13), BX
	TESTQ   BX, BX
	JZ      h2next
	GATHER2_HALF(64(R14), 96(R14), 4(R13), 5(R13), 1(R13), 32(R12))

h2next:
	ADDQ $8, R13
	ADDQ $128, R14
	ADDQ $64, R12
	DECQ CX
	JNZ  h2chunk
	TAP_NEXT_SOURCE_ROW
	JMP  h2nextrow

h2zero:
	TAP_CHUNKS

h2zchunk:
	LANES(0(R13), Y10)
	VMASKMOVPS Y1, Y10, (R12)
	LANES(1(R13), Y10)
	VMASKMOVPS Y1, Y10, 32(R12)
	ADDQ       $8, R13
	ADDQ       $64, R12
	DECQ       CX
	JNZ        h2zchunk

h2nextrow:
	TAP_NEXT_ROW
	JMP h2row

h2nextplane:
	TAP_NEXT_PLANE
	JNZ h2plane
	VZEROUPPER
	RET

// SCATTER1_HALF adds the 8 points at dst to the source at src under the
// lane mask of the byte at m, skipping a half without points.
#define SCATTER1_HALF(dst, src, m, skip) \
	MOVBQZX    m, BX; \
	TESTQ      BX, BX; \
	JZ         skip; \
	LANES(m, Y11); \
	VMASKMOVPS dst, Y11, Y0; \
	VMASKMOVPS src, Y11, Y2; \
	VADDPS     Y0, Y2, Y2; \
	VMASKMOVPS Y2, Y11, src

// func tapScatter256s1(dst, src *float32, a *tapArgs, lanes *[256][8]int32)
TEXT ·tapScatter256s1(SB), NOSPLIT, $0-32
	TAP_START256

k1plane:
	XORQ R10, R10
	MOVQ SI, R11

k1row:
	CMPQ R10, 16(R8)
	JGE  k1nextplane
	CMPQ R10, 32(R8)
	JLT  k1nextrow
	CMPQ R10, 40(R8)
	JGE  k1nextrow
	TAP_CHUNKS

k1chunk:
	SCATTER1_HALF((R12), (R14), 2(R13), k1b)

k1b:
	SCATTER1_HALF(32(R12), 32(R14), 3(R13), k1next)

k1next:
	ADDQ $8, R13
	ADDQ $64, R14
	ADDQ $64, R12
	DECQ CX
	JNZ  k1chunk
	TAP_NEXT_SOURCE_ROW

k1nextrow:
	TAP_NEXT_ROW
	JMP k1row

k1nextplane:
	TAP_NEXT_PLANE
	JNZ k1plane
	VZEROUPPER
	RET

// SCATTER2_HALF adds the 8 points at dst (store byte at ms) to the even
// lanes of the 16 source floats at src and src2 (lane mask bytes at m0, m1): VPERMPS
// by Y14 = (0, 0, 1, 1, 2, 2, 3, 3) and Y15 = (4, 4, 5, 5, 6, 6, 7, 7)
// spreads them over two vectors. A source vector without points is left
// alone: its floats may be the next row's, just stored.
#define SCATTER2_HALF(dst, src, src2, m0, m1, ms, skip) \
	LANES(ms, Y10); \
	VMASKMOVPS dst, Y10, Y0; \
	VPERMPS    Y0, Y14, Y5; \
	VPERMPS    Y0, Y15, Y7; \
	LANES(m0, Y11); \
	VMASKMOVPS src, Y11, Y2; \
	VADDPS     Y5, Y2, Y2; \
	VMASKMOVPS Y2, Y11, src; \
	MOVBQZX    m1, BX; \
	TESTQ      BX, BX; \
	JZ         skip; \
	LANES(m1, Y12); \
	VMASKMOVPS src2, Y12, Y8; \
	VADDPS     Y7, Y8, Y8; \
	VMASKMOVPS Y8, Y12, src2

// func tapScatter256s2(dst, src *float32, a *tapArgs, lanes *[256][8]int32, idx *[3][8]int32)
TEXT ·tapScatter256s2(SB), NOSPLIT, $0-40
	TAP_START256
	MOVQ    idx+32(FP), AX
	VMOVDQU 32(AX), Y14
	VMOVDQU 64(AX), Y15

k2plane:
	XORQ R10, R10
	MOVQ SI, R11

k2row:
	CMPQ R10, 16(R8)
	JGE  k2nextplane
	CMPQ R10, 32(R8)
	JLT  k2nextrow
	CMPQ R10, 40(R8)
	JGE  k2nextrow
	TAP_CHUNKS

k2chunk:
	SCATTER2_HALF((R12), (R14), 32(R14), 2(R13), 3(R13), 0(R13), k2b)

k2b:
	MOVBQZX 1(R13), BX
	TESTQ   BX, BX
	JZ      k2next
	SCATTER2_HALF(32(R12), 64(R14), 96(R14), 4(R13), 5(R13), 1(R13), k2next)

k2next:
	ADDQ $8, R13
	ADDQ $128, R14
	ADDQ $64, R12
	DECQ CX
	JNZ  k2chunk
	TAP_NEXT_SOURCE_ROW

k2nextrow:
	TAP_NEXT_ROW
	JMP k2row

k2nextplane:
	TAP_NEXT_PLANE
	JNZ k2plane
	VZEROUPPER
	RET
