# Purpose: helpers shared by the bench scripts (sourced, not run).

# iperf3 -J output on stdin -> the final bits_per_second in Gbps, two decimals
iperf3_gbps() { awk -F: '/"bits_per_second"/ {v=$2} END {gsub(/[ ,]/,"",v); printf "%.2f", v/1e9}'; }

# numbers separated by spaces or newlines on stdin -> their median, two decimals
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }
