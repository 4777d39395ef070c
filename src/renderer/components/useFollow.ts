import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from "react";

/** How close to the end still counts as "at the end" (a wheel notch is about 50 px). */
const SLACK_PX = 24;

export interface Follow<T extends HTMLElement> {
  ref: RefObject<T | null>;
  /** Whether the box follows new text (false once the user scrolled away from it). */
  following: boolean;
  onScroll: () => void;
  onWheel: (event: { deltaY: number }) => void;
  /** Back to following, scrolled to the newest text. */
  jump: () => void;
}

/**
 * Keeps a scrolling box on its newest content as it grows, unless the user scrolled away (then it
 * stays where they put it, until they scroll back to the end or `jump`). `content` changes when the
 * box's content does; `target`, when given, names the element to keep in view instead of the end
 * (the part of the answer being spoken, once the whole answer is written).
 */
export function useFollow<T extends HTMLElement>(
  content: unknown,
  target?: (box: T) => HTMLElement | null | undefined,
): Follow<T> {
  const ref = useRef<T | null>(null);
  const [following, setFollowing] = useState(true);
  const followingRef = useRef(true);
  /** Where the last scroll that this hook made left the box, to tell it from the user's. */
  const placed = useRef<number | null>(null);
  const targetRef = useRef(target);
  targetRef.current = target;

  /**
   * Whether the box shows what it follows: the target when there is one (the user may scroll a
   * little around the part being spoken), otherwise the end.
   */
  const showsFollowed = (box: T): boolean => {
    const element = targetRef.current?.(box);
    if (!element) return box.scrollHeight - box.scrollTop - box.clientHeight <= SLACK_PX;
    const e = element.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    return e.bottom > b.top && e.top < b.bottom;
  };

  const setFollow = (value: boolean) => {
    followingRef.current = value;
    setFollowing(value);
  };

  const place = useCallback(() => {
    const box = ref.current;
    if (!box) return;
    // Moved since this hook last put it somewhere, and not to the end: the user scrolled, and the
    // scroll event has not arrived yet. Their place wins.
    if (placed.current !== null && Math.abs(box.scrollTop - placed.current) > 1 && !showsFollowed(box)) {
      placed.current = null;
      setFollow(false);
      return;
    }
    const element = targetRef.current?.(box);
    let top = box.scrollHeight - box.clientHeight;
    if (element) {
      // The element a third of the way down the box, or wherever keeps it fully in view.
      const offset = element.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
      const wanted = offset - box.clientHeight / 3;
      top = Math.min(top, Math.max(0, Math.min(wanted, offset)));
    }
    top = Math.max(0, Math.round(top));
    if (Math.abs(box.scrollTop - top) < 1) return;
    placed.current = top;
    box.scrollTop = top;
  }, []);

  useLayoutEffect(() => {
    if (followingRef.current) place();
  }, [content, place]);

  // A box that changes size (the window, a turn that finished) stays on its newest content.
  useLayoutEffect(() => {
    const box = ref.current;
    if (!box || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (followingRef.current) place();
    });
    observer.observe(box);
    return () => observer.disconnect();
  }, [place]);

  const onScroll = useCallback(() => {
    const box = ref.current;
    if (!box) return;
    // The scroll this hook made: not the user's doing.
    if (placed.current !== null && Math.abs(box.scrollTop - placed.current) <= 1) return;
    placed.current = null;
    const follows = showsFollowed(box);
    if (follows !== followingRef.current) setFollow(follows);
  }, []);

  /** Scrolling up with the wheel stops following at once, before any scroll event. */
  const onWheel = useCallback((event: { deltaY: number }) => {
    if (event.deltaY < 0 && followingRef.current) {
      placed.current = null;
      setFollow(false);
    }
  }, []);

  const jump = useCallback(() => {
    setFollow(true);
    place();
  }, [place]);

  return { ref, following, onScroll, onWheel, jump };
}
