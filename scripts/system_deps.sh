#!/usr/bin/env bash
# Installs the system libraries wavegraph needs (PortAudio, JACK dummy driver) when missing and when root.
set -u
need=()
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
command -v jackd >/dev/null 2>&1 || need+=(jackd2)
# speech-enhancement corpora (models/speech_data.py): real voices, music on hold, synthetic voices
for lang in en es fr it ru; do
  [ -n "$(ls /usr/share/asterisk/sounds/*"${lang}"_*/*.g722 2>/dev/null | head -1)" ] || need+=(asterisk-core-sounds-${lang}-g722)
done
# GSM 6.10 prompts of the English voice (tests/test_telephony_formats_session33.py: file_source reads .gsm)
[ -n "$(ls /usr/share/asterisk/sounds/en_US_f_Allison/*.gsm 2>/dev/null | head -1)" ] || need+=(asterisk-core-sounds-en-gsm)
[ -d /usr/share/asterisk/moh ] && ls /usr/share/asterisk/moh/*.wav >/dev/null 2>&1 || need+=(asterisk-moh-opsound-wav)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v flite >/dev/null 2>&1 || need+=(flite)
# the live monitor's browser test (tests/test_monitor_browser.py): Debian's chromium, driven by selenium
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "wavegraph: missing system packages: ${need[*]} (run: sudo apt-get install -y --no-install-recommends ${need[*]})" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || echo "wavegraph: could not install ${need[*]}; audio tests will skip and say why" >&2
