/* The static parts of the page vcprr export --format html writes, kept in
 * files of their own and embedded at build time: export-html-page.html
 * (layout and style, up to where the data begins) and export-html-page.js
 * (the viewer; it reads the D, META and TYPES that export-html.c writes). */

__asm__(
"	.section .rodata\n"
"	.global html_page_head\n"
"	.type html_page_head, @object\n"
"html_page_head:\n"
"	.incbin \"tools/export-html-page.html\"\n"
"	.byte 0\n"
"	.global html_page_script\n"
"	.type html_page_script, @object\n"
"html_page_script:\n"
"	.incbin \"tools/export-html-page.js\"\n"
"	.byte 0\n"
"	.previous\n");
