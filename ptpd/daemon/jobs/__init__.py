"""Jobs: work the daemon does on its own, for as long as it takes (``job.start``).

* :mod:`.engine`: starts, resumes, stops jobs; the control lease for their run;
* :mod:`.store`: where they live between daemon runs (SQLite, WAL, in the state directory);
* :mod:`.job`: what every kind shares (shots written down before and after, waiting for
  the camera, settings put back); :mod:`.shooting`: one shot, taken by ``capture``'s own
  per-shot run;
* the kinds: :mod:`.timelapse`, :mod:`.bracket`, :mod:`.focus` (``focus-stack``),
  :mod:`.tether`;
* :mod:`.commands`: ``job.start``, ``job.list``, ``job.get``, ``job.stop``.
"""
