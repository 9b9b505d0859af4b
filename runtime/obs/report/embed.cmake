# embed.cmake: writes the bytes of IN as a NUL-terminated C array NAME into OUT.
# Usage: cmake -DIN=file -DOUT=header.h -DNAME=identifier -P embed.cmake
file(READ ${IN} _hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _hex "${_hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
       _hex "${_hex}")
file(WRITE ${OUT} "/* generated from ${IN} by embed.cmake */\nstatic const char ${NAME}[] = {\n${_hex}0};\n")
