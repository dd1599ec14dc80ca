# chart.gp — redial-bench's chart. The driver sets datadir, outfile, impls (the contenders
# with scale data), has_tp (1 when there are churn/refused figures) and subtitle, and writes
# the data files read here: throughput.dat and scale_IMPL.dat.
set terminal pngcairo size 1400,1000 font ",11"
set output outfile
set datafile missing "?"
set multiplot layout 2,2 title "redial-bench (".subtitle.")"
set key top right
set grid ytics

set title "throughput, one core per contender"
if (has_tp) {
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.85 border -1
	set boxwidth 0.9
	set ylabel "thousands per second"
	set yrange [0:*]
	set offsets 0, 0, graph 0.08, 0
	plot datadir.'/throughput.dat' using ($2/1000):xtic(1) title 'churn connects/s', \
	     '' using ($3/1000) title 'refused attempts/s'
} else {
	unset key
	plot [0:1] [0:1] NaN notitle
	set key
}

unset style
set offsets 0, 0, 0, 0
set style data linespoints
set xlabel "endpoints (log scale)"
set logscale x
set xrange [500:200000]
set yrange [*:*]
set key top left

if (strlen(impls) > 0) {
	set title "scale: memory per endpoint (RSS delta / endpoints)"
	set ylabel "bytes (log scale)"
	set logscale y
	plot for [i in impls] datadir.'/scale_'.i.'.dat' using 1:2 with linespoints lw 2 title i

	set title "scale: cost of removing one endpoint (10% removed at random)"
	set ylabel "ns per endpoint (log scale)"
	plot for [i in impls] datadir.'/scale_'.i.'.dat' using 1:4 with linespoints lw 2 title i

	set title "scale: CPU per attempt (first round, refused)"
	set ylabel "us per attempt"
	unset logscale y
	set yrange [0:*]
	plot for [i in impls] datadir.'/scale_'.i.'.dat' using 1:3 with linespoints lw 2 title i
}

unset multiplot
