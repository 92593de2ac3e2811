/* Guest entry.  The VMM starts every VCPU here in long mode with
 * rdi = VCPU id, rsi = number of VCPUs and rsp = the top of its stack
 * (16-byte aligned: the call leaves it as the ABI wants at a function's
 * entry). */
	.section .text.entry, "ax"
	.globl _start
_start:
	xor %ebp, %ebp
	call vcprr_start
1:	hlt
	jmp 1b
	.section .note.GNU-stack, "", @progbits
