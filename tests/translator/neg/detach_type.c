/* expect: the event handle of 'detach' must be a variable of type dag_event_t */
int main(void)
{
    int ev = 0, x = 0;
    #pragma dag task detach(ev) shared(x)
    x = 1;
    return x + ev;
}
